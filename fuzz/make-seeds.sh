#!/usr/bin/env bash
# Writes the seed inputs in fuzz/seeds/<target>/ (checked in; small valid inputs, each < 10 KB).
#
# Usage: fuzz/make-seeds.sh            (from any directory; needs openssl 3.0)
#
# Every signed or encrypted seed is made with the keys of fixtures/pki/pkcs12/ (a P-256 test CA
# and two end entities it issued, `Alice rsa` and `Alice ec`), the same files the fuzz targets
# load (fuzz/src/lib.rs), so the seeds decrypt and verify and the fuzzer starts deep in the
# code. The password of the PKCS#12 seeds is the one the target passes ("password"). A few
# byte-exact fixtures of other suites (fixtures/pki/{mime,msg,ossl}/) are copied in as well, as
# they are: they exercise other producers (gpgsm, NSS, OpenSSL's -stream BER) even where the
# target's keys do not open them.
#
# OpenSSL output is not reproducible (random CEKs, IVs, ECDSA nonces, signingTime), so running
# this again rewrites the seeds with different bytes; that is fine, they are only seeds.
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
FX=$HERE/../fixtures/pki
P=$FX/pkcs12
S=$HERE/seeds
export LC_ALL=C TZ=UTC

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-seeds.XXXXXX")
trap 'rm -rf -- "$WORK"' EXIT
cd "$WORK"

for t in cert csr crl cms_open cms_verify pkcs12_import smime; do
  rm -rf -- "${S:?}/$t"
  mkdir -p "$S/$t"
done
# copy SRC DST: copies a fixture of another suite if it exists (those suites are optional here).
copy() { if [[ -s $1 ]]; then cp -- "$1" "$2"; fi; }
# der SRC.pem DST: a PEM certificate as DER, if the PEM exists.
der() { if [[ -s $1 ]]; then openssl x509 -in "$1" -outform DER -out "$2"; fi; }

printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello from the fuzz seeds.\r\n' > content.txt
printf 'detached content' > detached.txt   # pki_core_fuzz::DETACHED_CONTENT
cat > ext.cnf << 'EOF'
[req]
distinguished_name = dn
[dn]
[sub_ca]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
nameConstraints = critical,permitted;email:.example.org,permitted;email:alice@example.com,excluded;email:bank.example.org
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[self_ee]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation,keyAgreement
extendedKeyUsage = emailProtection,clientAuth
subjectAltName = email:p384@example.org,DNS:mail.example.org
subjectKeyIdentifier = hash
EOF

# ---------------------------------------------------------------------------------------------
# cert: X.509 certificates (DER), and SubjectPublicKeyInfos (the target also feeds every input
# to PublicKey::from_spki_der).
T=$S/cert
cp "$P/ca.crt.der" "$T/ca-p256.der"
cp "$P/rsa.crt.der" "$T/ee-rsa.der"
cp "$P/ec.crt.der" "$T/ee-p256.der"
der "$FX/mime/fixture-cert.pem" "$T/selfsigned-rsa.der"
der "$FX/ossl/inter.pem" "$T/ossl-inter.der"
der "$FX/ossl/expired.pem" "$T/ossl-expired.der"
# A sub-CA with rfc822Name nameConstraints (permitted and excluded), issued by the test CA.
openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out sub.key
openssl req -new -key sub.key -subj "/CN=Fuzz sub-CA" -out sub.csr
openssl x509 -req -in sub.csr -CA "$P/ca.crt.pem" -CAkey "$P/ca.key.pem" -set_serial 0x51 \
  -days 3650 -sha256 -extfile ext.cnf -extensions sub_ca -outform DER -out "$T/subca-nameconstraints.der"
# A self-signed P-384 end entity with ECDSA-SHA384 and a mixed subjectAltName.
openssl req -x509 -newkey EC -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout p384.key \
  -subj "/CN=p384/emailAddress=p384@example.org" -days 3650 -sha384 -config ext.cnf \
  -extensions self_ee -outform DER -out "$T/selfsigned-p384.der"
openssl pkey -in "$P/rsa.key.pem" -pubout -outform DER -out "$T/spki-rsa.der"
openssl pkey -in "$P/ec.key.pem" -pubout -outform DER -out "$T/spki-p256.der"
openssl pkey -in p384.key -pubout -outform DER -out "$T/spki-p384.der"

# ---------------------------------------------------------------------------------------------
# csr: PKCS#10 requests, DER and PEM (the target tries from_pem on UTF-8 input).
T=$S/csr
openssl req -new -key "$P/rsa.key.pem" -subj "/CN=alice@example.org/emailAddress=alice@example.org" \
  -addext "subjectAltName=email:alice@example.org,email:alias@example.org" -outform DER -out "$T/rsa-san.der"
openssl req -new -key "$P/ec.key.pem" -subj "/CN=alice@example.org" \
  -addext "subjectAltName=email:alice@example.org" -outform DER -out "$T/p256-san.der"
openssl req -new -key "$P/ec.key.pem" -subj "/CN=alice@example.org" -outform PEM -out "$T/p256.pem"
openssl req -new -key "$P/rsa.key.pem" -subj "/CN=pss" -sigopt rsa_padding_mode:pss \
  -sigopt rsa_pss_saltlen:32 -outform DER -out "$T/rsa-pss.der"
copy "$FX/ossl/alice-rsa-csr.der" "$T/ossl-alice-rsa.der"

# ---------------------------------------------------------------------------------------------
# crl: CRLs issued by the test CA (the target's fixed issuer), and one by another issuer.
T=$S/crl
mkdir -p db
cat > ca.cnf << EOF
[ca]
default_ca = fx
[fx]
database = $WORK/db/index.txt
crlnumber = $WORK/db/crlnumber
default_md = sha256
default_crl_days = 30
crl_extensions = crl_ext
[crl_ext]
authorityKeyIdentifier = keyid
EOF
crl() { # NAME INDEX-LINES... : a CRL by the test CA listing the given `openssl ca` index lines
  local name=$1; shift
  : > db/index.txt
  for line in "$@"; do printf '%s\n' "$line" >> db/index.txt; done
  echo 1000 > db/crlnumber
  openssl ca -gencrl -config ca.cnf -keyfile "$P/ca.key.pem" -cert "$P/ca.crt.pem" -out crl.pem 2> /dev/null
  openssl crl -in crl.pem -outform DER -out "$T/$name.der"
}
crl empty
crl two-revoked \
  "$(printf 'R\t361105044152Z\t261129000000Z\t12\tunknown\t/CN=Alice rsa')" \
  "$(printf 'R\t361105044152Z\t261130000000Z,keyCompromise\t13\tunknown\t/CN=Alice ec')"
copy "$FX/ossl/inter-crl.der" "$T/ossl-inter.der"

# ---------------------------------------------------------------------------------------------
# cms_open: EnvelopedData / AuthEnvelopedData (DER, and BER from -stream) for Alice rsa / ec.
T=$S/cms_open
enc() { # NAME ARGS... : openssl cms -encrypt of content.txt
  local name=$1; shift
  openssl cms -encrypt -binary -in content.txt -outform DER -out "$T/$name.der" "$@"
}
enc rsa-aes256cbc -aes256 -recip "$P/rsa.crt.pem"
enc rsa-aes128cbc -aes128 -recip "$P/rsa.crt.pem"
enc rsa-aes256gcm -aes-256-gcm -recip "$P/rsa.crt.pem"
enc rsa-oaep-sha256 -aes256 -recip "$P/rsa.crt.pem" -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256
enc rsa-stream-ber -aes256 -stream -indef -recip "$P/rsa.crt.pem"
enc p256-ecdh-sha1kdf -aes256 -recip "$P/ec.crt.pem"
enc p256-ecdh-sha256kdf -aes256 -recip "$P/ec.crt.pem" -keyopt ecdh_kdf_md:sha256
enc p256-ecdh-gcm -aes-256-gcm -recip "$P/ec.crt.pem" -keyopt ecdh_kdf_md:sha256
enc both-recipients -aes256 -recip "$P/ec.crt.pem" -recip "$P/rsa.crt.pem"
enc des3 -des3 -recip "$P/rsa.crt.pem"
copy "$FX/msg/gpgsm-enc.p7m" "$T/gpgsm-enc.der"
copy "$FX/msg/nss-enc.p7m" "$T/nss-enc.der"

# ---------------------------------------------------------------------------------------------
# cms_verify: SignedData, opaque and detached (the target passes "detached content").
T=$S/cms_verify
sig() { # NAME IN ARGS... : openssl cms -sign
  local name=$1 in=$2; shift 2
  openssl cms -sign -binary -in "$in" -outform DER -out "$T/$name.der" "$@"
}
sig rsa-opaque content.txt -nodetach -signer "$P/rsa.crt.pem" -inkey "$P/rsa.key.pem" -certfile "$P/ca.crt.pem"
sig rsa-detached detached.txt -signer "$P/rsa.crt.pem" -inkey "$P/rsa.key.pem"
sig p256-opaque content.txt -nodetach -signer "$P/ec.crt.pem" -inkey "$P/ec.key.pem"
sig p256-detached detached.txt -signer "$P/ec.crt.pem" -inkey "$P/ec.key.pem"
sig rsa-pss-sha384 content.txt -nodetach -md sha384 -signer "$P/rsa.crt.pem" -inkey "$P/rsa.key.pem" \
  -keyopt rsa_padding_mode:pss
sig two-signers-noattr content.txt -nodetach -noattr -signer "$P/rsa.crt.pem" -inkey "$P/rsa.key.pem" \
  -signer "$P/ec.crt.pem" -inkey "$P/ec.key.pem"
sig keyid-nocerts detached.txt -keyid -nocerts -signer "$P/ec.crt.pem" -inkey "$P/ec.key.pem"
sig rsa-stream-ber content.txt -nodetach -stream -indef -signer "$P/rsa.crt.pem" -inkey "$P/rsa.key.pem"
openssl crl2pkcs7 -nocrl -certfile "$P/ca.crt.pem" -outform DER -out "$T/certs-only.der"
copy "$FX/msg/gpgsm-detached.p7s" "$T/gpgsm-detached.der"
copy "$FX/msg/nss-opaque.p7m" "$T/nss-opaque.der"

# ---------------------------------------------------------------------------------------------
# pkcs12_import: password "password". One iteration where OpenSSL allows it (-noiter,
# -nomaciter), so the fuzzer spends its time in the parser and not in the KDF.
T=$S/pkcs12_import
p12() { # NAME ARGS... : openssl pkcs12 -export
  local name=$1; shift
  openssl pkcs12 -export -passout pass:password -out "$T/$name.p12" "$@"
}
p12 rsa-pbes2-chain -noiter -nomaciter -inkey "$P/rsa.key.pem" -in "$P/rsa.crt.pem" \
  -certfile "$P/ca.crt.pem" -name "Alice RSA"
p12 p256-pbes2 -noiter -nomaciter -inkey "$P/ec.key.pem" -in "$P/ec.crt.pem" -name "Alice EC"
p12 p256-3des-sha1mac -noiter -nomaciter -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 \
  -inkey "$P/ec.key.pem" -in "$P/ec.crt.pem"
p12 p256-legacy-rc2 -legacy -noiter -nomaciter -inkey "$P/ec.key.pem" -in "$P/ec.crt.pem" -certfile "$P/ca.crt.pem"
p12 p256-nocrypt-sha512mac -noiter -nomaciter -keypbe NONE -certpbe NONE -macalg sha512 \
  -inkey "$P/ec.key.pem" -in "$P/ec.crt.pem"
p12 p256-nomac -noiter -nomac -keypbe NONE -certpbe NONE -inkey "$P/ec.key.pem" -in "$P/ec.crt.pem"
p12 p256-aes128-default-iter -keypbe AES-128-CBC -certpbe AES-128-CBC -inkey "$P/ec.key.pem" -in "$P/ec.crt.pem"

# ---------------------------------------------------------------------------------------------
# smime: whole messages: multipart/signed (LF and CRLF), opaque signed, enveloped, and the
# MIME-layer fixtures of fixtures/pki/mime/ (signed by a self-signed cert: untrusted here).
T=$S/smime
printf 'Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n\nHello S/MIME.\n--not-a-boundary\n' > msg.txt
hdr=(-from alice@example.org -to bob@example.org -subject "Fuzz seed")
openssl cms -sign -in msg.txt -signer "$P/rsa.crt.pem" -inkey "$P/rsa.key.pem" "${hdr[@]}" -out "$T/signed-rsa.eml"
openssl cms -sign -crlfeol -in msg.txt -signer "$P/ec.crt.pem" -inkey "$P/ec.key.pem" "${hdr[@]}" -out "$T/signed-p256-crlf.eml"
openssl cms -sign -nodetach -in msg.txt -signer "$P/ec.crt.pem" -inkey "$P/ec.key.pem" "${hdr[@]}" -out "$T/opaque-p256.eml"
openssl cms -encrypt -aes256 -in msg.txt "${hdr[@]}" -out "$T/enveloped-rsa.eml" "$P/rsa.crt.pem"
for f in signed-lf signed-noeol opaque-signed authenveloped; do copy "$FX/mime/$f.eml" "$T/mime-$f.eml"; done
# Hand-written: PGP/MIME (for classify), and a folded, quoted, commented Content-Type.
printf 'From: a@example.org\r\nContent-Type: multipart/encrypted;\r\n protocol="application/pgp-encrypted"; boundary=pgp\r\n\r\n--pgp\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--pgp\r\nContent-Type: application/octet-stream\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n-----END PGP MESSAGE-----\r\n--pgp--\r\n' > "$T/pgp-mime.eml"
printf 'multipart/signed (comment); protocol="application/pkcs7-signature";\r\n\tmicalg=sha-256; boundary="----=_b \\"q\\""; name*=utf-8%s%sx\r\n' "''" "%C3%A9" > "$T/content-type.txt"

chmod 644 "$S"/*/*   # openssl pkcs12 writes 0600
du -sb --apparent-size "$S"
find "$S" -type f -size +10k -printf 'too big: %p\n'
