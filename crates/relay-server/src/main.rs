//! The `mailrelay` binary.

fn main() {
    eprintln!("mailrelay: not yet assembled; see crates/relay-server");
    std::process::exit(2);
}
