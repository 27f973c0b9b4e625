//! The SMTP front over real loopback sockets, with a recording fake [`Handler`].
//!
//! Each test starts [`serve`] on `127.0.0.1:0` and talks to it with [`Client`], a line-based
//! client whose `cmd("RCPT TO:<x@y>", "550 5.1.1")` sends a command and checks the reply.

mod smtp_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use relay_server::smtp::{CloseReason, Limits, Reply, Session};
use smtp_support::{Client, Fake, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn greeting_and_ehlo_capabilities() {
    let server = start(Limits::default()).await;
    let (mut c, greeting) = Client::connect(server.addr).await;
    assert_eq!(greeting, "220 mx.pportal.io ESMTP");
    let ehlo = c.cmd("EHLO client.example", "250").await;
    let lines: Vec<&str> = ehlo.lines().collect();
    assert_eq!(
        lines,
        [
            "250-mx.pportal.io",
            "250-PIPELINING",
            "250-SIZE 20971520",
            "250-8BITMIME",
            "250-SMTPUTF8",
            "250 ENHANCEDSTATUSCODES"
        ]
    );
    assert!(!ehlo.contains("STARTTLS"));
    c.cmd("STARTTLS", "502 5.5.1").await;
    c.cmd("HELO client.example", "250 mx.pportal.io").await;
    c.cmd("EHLO", "501 5.5.4").await;
    c.cmd("QUIT", "221 2.0.0").await;
    assert!(c.closed().await);
    server.stop().await;
}

#[tokio::test]
async fn full_transaction() {
    let server = start(Limits::default()).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("EHLO client.example", "250").await;
    c.cmd("MAIL FROM:<sender@example.com> BODY=8BITMIME SIZE=100", "250 2.1.0").await;
    c.cmd("RCPT TO:<alice@pportal.io>", "250 2.1.5").await;
    c.cmd("DATA", "354").await;
    c.send_raw(b"Subject: hi\r\n\r\nHello, \xc3\xa9t\xc3\xa9.\r\n").await;
    c.cmd(".", "250 2.0.0").await;
    c.cmd("QUIT", "221 2.0.0").await;
    assert!(c.closed().await);
    let delivered = server.handler.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].from.as_deref(), Some("sender@example.com"));
    assert_eq!(delivered[0].rcpts, ["alice@pportal.io"]);
    assert_eq!(delivered[0].data, b"Subject: hi\r\n\r\nHello, \xc3\xa9t\xc3\xa9.\r\n");
    server.stop().await;
}

#[tokio::test]
async fn null_sender_and_postmaster() {
    let server = start(Limits::default()).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("EHLO client.example", "250").await;
    c.cmd("MAIL FROM:<>", "250 2.1.0").await;
    c.cmd("RCPT TO:<Postmaster>", "250 2.1.5").await;
    c.cmd("DATA", "354").await;
    c.cmd("bounce\r\n.", "250 2.0.0").await;
    let delivered = server.handler.delivered();
    assert_eq!(delivered[0].from, None);
    assert_eq!(delivered[0].rcpts, ["postmaster@pportal.io"]);
    server.stop().await;
}

#[tokio::test]
async fn pipelining_replies_in_order() {
    let server = start(Limits::default()).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("EHLO client.example", "PIPELINING").await;
    c.send_raw(
        b"MAIL FROM:<s@example.com>\r\nRCPT TO:<alice@pportal.io>\r\nRCPT TO:<nobody@pportal.io>\r\n\
          RCPT TO:<alice+tag@pportal.io>\r\nRCPT TO:<bob@pportal.io>\r\nDATA\r\n",
    )
    .await;
    for expected in ["250 2.1.0", "250 2.1.5", "550 5.1.1", "250 2.1.5", "452 4.5.3", "354"] {
        c.expect(expected).await;
    }
    // The end of one message, a whole second transaction and QUIT, in one write.
    c.send_raw(b"one\r\n.\r\nMAIL FROM:<s@example.com>\r\nRCPT TO:<bob@pportal.io>\r\nDATA\r\ntwo\r\n.\r\nQUIT\r\n")
        .await;
    for expected in ["250 2.0.0", "250 2.1.0", "250 2.1.5", "354", "250 2.0.0", "221 2.0.0"] {
        c.expect(expected).await;
    }
    assert!(c.closed().await);
    let delivered = server.handler.delivered();
    assert_eq!(delivered.len(), 2);
    assert_eq!(delivered[0].rcpts, ["alice@pportal.io", "alice+tag@pportal.io"]);
    assert_eq!(delivered[0].data, b"one\r\n");
    assert_eq!(delivered[1].rcpts, ["bob@pportal.io"]);
    assert_eq!(delivered[1].data, b"two\r\n");
    server.stop().await;
}

#[tokio::test]
async fn dot_stuffing_round_trip() {
    let server = start(Limits::default()).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.transaction_start("alice@pportal.io").await;
    // What a client sends for the lines ".leading dot", ".", "..", "a.b" and "".
    c.send_raw(b"Subject: dots\r\n\r\n..leading dot\r\n..\r\n...\r\na.b\r\n\r\n").await;
    c.cmd(".", "250 2.0.0").await;
    assert_eq!(server.handler.delivered()[0].data, b"Subject: dots\r\n\r\n.leading dot\r\n.\r\n..\r\na.b\r\n\r\n");
    server.stop().await;
}

#[tokio::test]
async fn size_limit_keeps_the_session_in_step() {
    let server = start(Limits { max_message_size: 1000, ..Limits::default() }).await;
    let (mut c, _) = Client::connect(server.addr).await;
    let ehlo = c.cmd("EHLO client.example", "250").await;
    assert!(ehlo.contains("250-SIZE 1000\r\n") || ehlo.contains("250-SIZE 1000\n"), "{ehlo}");
    c.cmd("MAIL FROM:<s@example.com> SIZE=1001", "552 5.3.4").await;
    c.cmd("MAIL FROM:<s@example.com> SIZE=1000", "250 2.1.0").await;
    c.cmd("RCPT TO:<alice@pportal.io>", "250 2.1.5").await;
    c.cmd("DATA", "354").await;
    // 2000 octets in 100-octet lines, some of which look like commands.
    for i in 0..20 {
        c.send_raw(format!("QUIT {i:03} {}\r\n", "x".repeat(89)).as_bytes()).await;
    }
    c.cmd(".", "552 5.3.4").await;
    c.cmd("NOOP", "250 2.0.0").await;
    // Exactly 1000 octets fit.
    c.transaction_start("alice@pportal.io").await;
    for _ in 0..10 {
        c.send_raw(format!("{}\r\n", "y".repeat(98)).as_bytes()).await;
    }
    c.cmd(".", "250 2.0.0").await;
    assert_eq!(server.handler.delivered().len(), 1);
    assert_eq!(server.handler.delivered()[0].data.len(), 1000);
    server.stop().await;
}

#[tokio::test]
async fn too_many_recipients() {
    let server = start(Limits { max_recipients: 2, ..Limits::default() }).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("EHLO client.example", "250").await;
    c.cmd("MAIL FROM:<s@example.com>", "250").await;
    c.cmd("RCPT TO:<alice@pportal.io>", "250 2.1.5").await;
    c.cmd("RCPT TO:<alice+1@pportal.io>", "250 2.1.5").await;
    let reply = c.cmd("RCPT TO:<alice+2@pportal.io>", "452 4.5.3").await;
    assert!(reply.contains("too many recipients"), "{reply}");
    // A repeated recipient is not a new one.
    c.cmd("RCPT TO:<alice@pportal.io>", "250 2.1.5").await;
    c.cmd("DATA", "354").await;
    c.cmd("x\r\n.", "250 2.0.0").await;
    assert_eq!(server.handler.delivered()[0].rcpts, ["alice@pportal.io", "alice+1@pportal.io"]);
    server.stop().await;
}

#[tokio::test]
async fn one_destination_per_transaction() {
    let server = start(Limits::default()).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.transaction_start("alice@pportal.io").await;
    c.send_raw(b"x\r\n").await;
    c.cmd(".", "250 2.0.0").await;
    c.cmd("MAIL FROM:<s@example.com>", "250").await;
    c.cmd("RCPT TO:<alice@pportal.io>", "250 2.1.5").await;
    let reply = c.cmd("RCPT TO:<bob@pportal.io>", "452 4.5.3").await;
    assert!(reply.contains("one destination per transaction"), "{reply}");
    c.cmd("DATA", "354").await;
    c.cmd("for alice\r\n.", "250 2.0.0").await;
    // The client sends bob's copy in a new transaction.
    c.cmd("MAIL FROM:<s@example.com>", "250").await;
    c.cmd("RCPT TO:<bob@pportal.io>", "250 2.1.5").await;
    c.cmd("DATA", "354").await;
    c.cmd("for bob\r\n.", "250 2.0.0").await;
    let delivered = server.handler.delivered();
    assert_eq!(
        delivered.iter().map(|d| d.rcpts.join(",")).collect::<Vec<_>>(),
        ["alice@pportal.io", "alice@pportal.io", "bob@pportal.io"]
    );
    server.stop().await;
}

#[tokio::test]
async fn refused_recipients() {
    let server = start(Limits::default()).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("EHLO client.example", "250").await;
    c.cmd("MAIL FROM:<s@example.com>", "250").await;
    c.cmd("RCPT TO:<nobody@pportal.io>", "550 5.1.1").await;
    c.cmd("RCPT TO:<someone@elsewhere.example>", "550 5.7.1").await;
    c.cmd("RCPT TO:<tempfail@pportal.io>", "451 4.3.0").await;
    c.cmd("RCPT TO:<>", "501 5.1.3").await;
    c.cmd("RCPT TO:<a b@pportal.io>", "501 5.1.3").await;
    c.cmd("RCPT TO:<alice@pportal.io> NOTIFY=NEVER", "555 5.5.4").await;
    c.cmd("DATA", "554 5.5.1").await;
    c.cmd("RCPT TO:<alice@pportal.io>", "250 2.1.5").await;
    c.cmd("DATA", "354").await;
    c.cmd("x\r\n.", "250 2.0.0").await;
    assert_eq!(server.handler.delivered()[0].rcpts, ["alice@pportal.io"]);
    server.stop().await;
}

#[tokio::test]
async fn delivery_refusals_are_relayed() {
    let server = start(Limits::default()).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.transaction_start("hoptemp@pportal.io").await;
    c.cmd("x\r\n.", "451 4.4.1").await;
    c.transaction_start("hopfail@pportal.io").await;
    c.cmd("x\r\n.", "550 5.7.1 next hop refused").await;
    c.cmd("NOOP", "250").await;
    server.stop().await;
}

#[tokio::test]
async fn rset_and_sequence_errors() {
    let server = start(Limits::default()).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("MAIL FROM:<s@example.com>", "503 5.5.1").await;
    c.cmd("RSET", "250 2.0.0").await;
    c.cmd("EHLO client.example", "250").await;
    c.cmd("RCPT TO:<alice@pportal.io>", "503 5.5.1").await;
    c.cmd("DATA", "503 5.5.1").await;
    c.cmd("MAIL FROM:<s@example.com>", "250").await;
    c.cmd("MAIL FROM:<s@example.com>", "503 5.5.1").await;
    c.cmd("RCPT TO:<alice@pportal.io>", "250").await;
    c.cmd("RSET", "250 2.0.0").await;
    c.cmd("DATA", "503 5.5.1").await;
    c.cmd("RCPT TO:<alice@pportal.io>", "503 5.5.1").await;
    // EHLO also ends a transaction.
    c.cmd("MAIL FROM:<s@example.com>", "250").await;
    c.cmd("EHLO client.example", "250").await;
    c.cmd("RCPT TO:<alice@pportal.io>", "503 5.5.1").await;
    assert!(server.handler.delivered().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn vrfy_unknown_and_unimplemented_commands() {
    let server = start(Limits::default()).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("EHLO client.example", "250").await;
    let vrfy_alias = c.cmd("VRFY alice@pportal.io", "252 2.5.0").await;
    let vrfy_nobody = c.cmd("VRFY nobody@pportal.io", "252 2.5.0").await;
    assert_eq!(vrfy_alias, vrfy_nobody, "VRFY must not tell aliases from unknown names");
    c.cmd("VRFY", "501 5.5.4").await;
    c.cmd("FROB", "500 5.5.2").await;
    c.cmd("EXPN staff", "502 5.5.1").await;
    c.cmd("NOOP whatever", "250 2.0.0").await;
    c.cmd(&format!("NOOP {}", "x".repeat(1200)), "500 5.5.2").await;
    c.cmd("NOOP", "250 2.0.0").await;
    server.stop().await;
}

#[tokio::test]
async fn esmtp_rules() {
    let server = start(Limits::default()).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("HELO client.example", "250").await;
    c.cmd("MAIL FROM:<s@example.com> BODY=8BITMIME", "555 5.5.4").await;
    c.cmd("EHLO client.example", "250").await;
    c.cmd("MAIL FROM:<jöran@example.com>", "553 5.6.7").await;
    c.cmd("MAIL FROM:<s@example.com>", "250").await;
    c.cmd("RCPT TO:<ålice@pportal.io>", "553 5.6.7").await;
    c.cmd("RSET", "250").await;
    c.cmd("MAIL FROM:<jöran@example.com> SMTPUTF8", "250 2.1.0").await;
    c.cmd("RCPT TO:<ålice@pportal.io>", "250 2.1.5").await;
    // Syntax is checked before sequence.
    c.cmd("MAIL FROM:<s@example.com> RET=HDRS", "555 5.5.4").await;
    c.cmd("MAIL FROM:<s@example.com>", "503 5.5.1").await;
    c.cmd("RSET", "250").await;
    c.cmd("MAIL FROM:<s@example.com> RET=HDRS", "555 5.5.4").await;
    c.cmd("MAIL FROM:<s@example.com> SIZE=abc", "501 5.5.4").await;
    c.cmd("MAIL FROM:<s@@example.com>", "501 5.1.7").await;
    server.stop().await;
}

#[tokio::test]
async fn bare_line_endings_are_refused_in_step() {
    let server = start(Limits::default()).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.transaction_start("alice@pportal.io").await;
    // `\n.\n` and `\n.\r\n` do not end the data; only CRLF.CRLF does.
    c.send_raw(b"Subject: smuggle\r\n\r\nhi\n.\nMAIL FROM:<evil@example.com>\n.\r\nRCPT TO:<bob@pportal.io>\r\n").await;
    c.cmd(".", "554 5.6.0").await;
    c.cmd("NOOP", "250 2.0.0").await;
    // Bare LF in commands is tolerated.
    c.send_raw(b"NOOP\n").await;
    c.expect("250 2.0.0").await;
    assert!(server.handler.delivered().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn too_many_errors_disconnect() {
    let server = start(Limits { max_errors: 3, ..Limits::default() }).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("FOO", "500 5.5.2").await;
    c.cmd("EHLO client.example", "250").await;
    c.cmd("RCPT TO:<alice@pportal.io>", "503 5.5.1").await;
    c.send("BAR").await;
    c.expect("500 5.5.2").await;
    c.expect("421 4.7.0").await;
    assert!(c.closed().await);
    // Recipient probing counts too.
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("EHLO client.example", "250").await;
    c.cmd("MAIL FROM:<s@example.com>", "250").await;
    c.cmd("RCPT TO:<guess1@pportal.io>", "550 5.1.1").await;
    c.cmd("RCPT TO:<guess2@pportal.io>", "550 5.1.1").await;
    c.send("RCPT TO:<guess3@pportal.io>").await;
    c.expect("550 5.1.1").await;
    c.expect("421 4.7.0").await;
    assert!(c.closed().await);
    server.stop().await;
}

#[tokio::test]
async fn command_timeout_closes_with_421() {
    let limits = Limits { command_timeout: Duration::from_millis(200), ..Limits::default() };
    let server = start(limits).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("EHLO client.example", "250").await;
    let started = Instant::now();
    c.expect("421 4.4.2").await;
    assert!(c.closed().await);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(150) && waited < Duration::from_secs(3), "{waited:?}");
    // A partial command line does not keep the session alive.
    let (mut c, _) = Client::connect(server.addr).await;
    c.send_raw(b"EH").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    c.send_raw(b"L").await;
    c.expect("421 4.4.2").await;
    assert!(c.closed().await);
    server.stop().await;
}

#[tokio::test]
async fn data_timeout_closes_with_421() {
    let limits = Limits { data_timeout: Duration::from_millis(300), ..Limits::default() };
    let server = start(limits).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.transaction_start("alice@pportal.io").await;
    c.send_raw(b"Subject: slow\r\n").await;
    let started = Instant::now();
    c.expect("421 4.4.2").await;
    assert!(c.closed().await);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(server.handler.delivered().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn connection_limit_per_ip() {
    let server = start(Limits { max_connections_per_ip: 2, ..Limits::default() }).await;
    let (mut a, _) = Client::connect(server.addr).await;
    let (b, _) = Client::connect(server.addr).await;
    let (mut c, greeting) = Client::connect(server.addr).await;
    assert!(greeting.starts_with("421 4.7.0"), "{greeting}");
    assert!(greeting.contains("from your address"), "{greeting}");
    assert!(c.closed().await);
    a.cmd("NOOP", "250").await;
    drop(b);
    // The place is given back once the session has noticed the close.
    let mut admitted = false;
    for _ in 0..50 {
        let (_c, greeting) = Client::connect(server.addr).await;
        if greeting.starts_with("220") {
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(admitted);
    server.stop().await;
}

#[tokio::test]
async fn connection_limit_in_total() {
    let server = start(Limits { max_connections: 1, ..Limits::default() }).await;
    let (mut a, _) = Client::connect(server.addr).await;
    let (_, greeting) = Client::connect(server.addr).await;
    assert!(greeting.starts_with("421 4.7.0 too many connections"), "{greeting}");
    a.cmd("NOOP", "250").await;
    server.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_finishes_data_in_flight() {
    let server = start(Limits::default()).await;
    let (mut busy, _) = Client::connect(server.addr).await;
    busy.transaction_start("alice@pportal.io").await;
    busy.send_raw(b"Subject: in flight\r\n\r\nfirst half\r\n").await;
    let (mut idle, _) = Client::connect(server.addr).await;
    idle.cmd("EHLO client.example", "250").await;
    let (mut in_mail, _) = Client::connect(server.addr).await;
    in_mail.cmd("EHLO client.example", "250").await;
    in_mail.cmd("MAIL FROM:<s@example.com>", "250").await;

    server.stop.send_replace(true);
    idle.expect("421 4.3.2").await;
    assert!(idle.closed().await);
    in_mail.expect("421 4.3.2").await;
    assert!(in_mail.closed().await);
    // The listener is gone: a new connection is refused or closed at once.
    if let Ok(mut late) = tokio::net::TcpStream::connect(server.addr).await {
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(5), tokio::io::AsyncReadExt::read(&mut late, &mut buf))
            .await
            .expect("late connection neither refused nor closed")
            .unwrap_or(0);
        assert_eq!(n, 0, "{:?}", String::from_utf8_lossy(&buf[..n]));
    }
    // The message in flight is still received, delivered and acknowledged.
    busy.send_raw(b"second half\r\n").await;
    busy.cmd(".", "250 2.0.0").await;
    busy.expect("421 4.3.2").await;
    assert!(busy.closed().await);
    tokio::time::timeout(Duration::from_secs(5), server.task).await.expect("serve returns").expect("no panic");
    let delivered = server.handler.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].data, b"Subject: in flight\r\n\r\nfirst half\r\nsecond half\r\n");
}

#[tokio::test]
async fn reply_table_is_what_the_wire_shows() {
    let server = start(Limits::default()).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("EHLO client.example", "250").await;
    let wire = c.cmd("VRFY x", "252").await;
    assert_eq!(format!("{wire}\r\n").as_bytes(), Reply::CANNOT_VRFY.to_wire());
    server.stop().await;
}

#[tokio::test]
async fn session_on_in_memory_io() {
    let (mut client, server_io) = tokio::io::duplex(64 * 1024);
    let handler = Arc::new(Fake::new());
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let session = tokio::spawn(Session::new(server_io, Arc::clone(&handler), Limits::default(), stopped).run());
    client
        .write_all(
            b"EHLO client.example\r\nMAIL FROM:<s@example.com>\r\nRCPT TO:<alice@pportal.io>\r\nDATA\r\n\
              Subject: x\r\n\r\n..\r\n.\r\nQUIT\r\n",
        )
        .await
        .unwrap();
    let mut transcript = String::new();
    client.read_to_string(&mut transcript).await.unwrap();
    assert_eq!(
        transcript,
        "220 mx.pportal.io ESMTP\r\n\
         250-mx.pportal.io\r\n250-PIPELINING\r\n250-SIZE 20971520\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n\
         250 ENHANCEDSTATUSCODES\r\n\
         250 2.1.0 sender ok\r\n\
         250 2.1.5 recipient ok\r\n\
         354 end data with <CR><LF>.<CR><LF>\r\n\
         250 2.0.0 message accepted and delivered\r\n\
         221 2.0.0 bye\r\n"
    );
    assert_eq!(session.await.unwrap().unwrap(), CloseReason::Quit);
    assert_eq!(handler.delivered()[0].data, b"Subject: x\r\n\r\n.\r\n");
}
