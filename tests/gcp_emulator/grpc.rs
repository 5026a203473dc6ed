//! The gRPC front of the emulator, for clients that speak only gRPC to
//! `cloudkms.googleapis.com:443` (sops 3.11, whose Go client has no endpoint override):
//! they reach it through `HTTPS_PROXY` pointed at the emulator. A `CONNECT
//! cloudkms.googleapis.com:443` is accepted, TLS is terminated with a leaf for that name
//! signed by the emulator's CA (`<dir>/ca.pem`, for `SSL_CERT_FILE`), and HTTP/2 gRPC calls
//! `google.cloud.kms.v1.KeyManagementService/Encrypt|Decrypt` are translated to the REST
//! handler ([`kms::execute`]), so both fronts share keys, tokens, denials and faults.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderMap, HeaderValue};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{json, Value};
use tokio_rustls::TlsAcceptor;

use crate::kms;
use crate::state::{Logged, Shared};

/// The only host the front accepts tunnels for.
pub const HOST: &str = "cloudkms.googleapis.com";

/// A CA (PEM, for clients to trust) and an acceptor whose leaf names [`HOST`], ALPN `h2`.
pub fn identity() -> Result<(String, TlsAcceptor), Box<dyn std::error::Error>> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "leafcrypt gcp-emulator CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = ca_params.self_signed(&ca_key)?;
    let leaf_key = KeyPair::generate()?;
    let mut leaf_params = CertificateParams::new(vec![HOST.to_string()])?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, HOST);
    leaf_params.is_ca = IsCa::ExplicitNoCa;
    let leaf = leaf_params.signed_by(&leaf_key, &ca, &ca_key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain: Vec<CertificateDer<'static>> = vec![leaf.der().clone(), ca.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok((ca.pem(), TlsAcceptor::from(Arc::new(config))))
}

/// Answers a `CONNECT` (200, then gRPC over TLS on the tunnel), or refuses other hosts.
pub fn connect(
    shared: Arc<Shared>,
    acceptor: TlsAcceptor,
    req: Request<Incoming>,
) -> crate::http::Resp {
    let authority = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_string())
        .unwrap_or_default();
    if authority != format!("{HOST}:443") {
        return crate::errors::google(
            403,
            "PERMISSION_DENIED",
            "the emulator tunnels only to cloudkms.googleapis.com:443",
        );
    }
    let upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else { return };
        let Ok(tls) = acceptor.accept(TokioIo::new(upgraded)).await else {
            return;
        };
        let service = service_fn(move |req| call(Arc::clone(&shared), req));
        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .serve_connection(TokioIo::new(tls), service)
            .await;
    });
    crate::http::json(hyper::StatusCode::OK, &json!({}))
}

/// A gRPC response body: the frames given, then nothing.
pub struct GrpcBody(VecDeque<Frame<Bytes>>);

impl hyper::body::Body for GrpcBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().0.pop_front().map(Ok))
    }
}

fn reply(message: Option<Vec<u8>>, code: u32, text: &str) -> Response<GrpcBody> {
    let mut frames = VecDeque::new();
    if let Some(m) = message {
        let mut framed = vec![0u8];
        framed.extend_from_slice(&(m.len() as u32).to_be_bytes());
        framed.extend_from_slice(&m);
        frames.push_back(Frame::data(Bytes::from(framed)));
    }
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from(code));
    if !text.is_empty() {
        let encoded: String = text
            .bytes()
            .map(|b| {
                if (0x20..0x7f).contains(&b) && b != b'%' {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        if let Ok(v) = HeaderValue::from_str(&encoded) {
            trailers.insert("grpc-message", v);
        }
    }
    frames.push_back(Frame::trailers(trailers));
    let mut resp = Response::new(GrpcBody(frames));
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/grpc"));
    resp
}

/// gRPC's code for a Google status name.
fn code(status: &str) -> u32 {
    match status {
        "INVALID_ARGUMENT" => 3,
        "DEADLINE_EXCEEDED" => 4,
        "NOT_FOUND" => 5,
        "PERMISSION_DENIED" => 7,
        "RESOURCE_EXHAUSTED" => 8,
        "FAILED_PRECONDITION" => 9,
        "ABORTED" => 10,
        "UNIMPLEMENTED" => 12,
        "UNAVAILABLE" => 14,
        "UNAUTHENTICATED" => 16,
        _ => 13,
    }
}

/// A REST answer as a gRPC reply, its JSON converted by `encode`.
async fn translate(
    resp: crate::http::Resp,
    encode: impl Fn(&Value) -> Vec<u8>,
) -> Response<GrpcBody> {
    let ok = resp.status().is_success();
    let body = resp
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let json: Value = serde_json::from_slice(&body).unwrap_or_default();
    if ok {
        reply(Some(encode(&json)), 0, "")
    } else {
        let e = &json["error"];
        reply(
            None,
            code(e["status"].as_str().unwrap_or("")),
            e["message"].as_str().unwrap_or(""),
        )
    }
}

async fn call(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<GrpcBody>, Infallible> {
    let path = req.uri().path().to_string();
    let op = match path.as_str() {
        "/google.cloud.kms.v1.KeyManagementService/Encrypt" => "encrypt",
        "/google.cloud.kms.v1.KeyManagementService/Decrypt" => "decrypt",
        _ => return Ok(reply(None, 12, &format!("unknown method {path}"))),
    };
    let fault = shared.lock().next_fault();
    let identity = kms::authenticate(&shared, &req);
    let resp = if let Some(f) = fault.filter(|f| f.status != 0) {
        let name = crate::errors::status_name(f.status);
        reply(None, code(name), crate::errors::fault_message(f.status))
    } else {
        match &identity {
            Err(_) => reply(None, 16, "Request had invalid authentication credentials."),
            Ok(identity) => {
                let body = req
                    .into_body()
                    .collect()
                    .await
                    .map(|c| c.to_bytes())
                    .unwrap_or_default();
                let fields = if body.len() >= 5 {
                    parse(&body[5..])
                } else {
                    Vec::new()
                };
                let bytes = |n: u64| {
                    fields
                        .iter()
                        .find(|(f, _)| *f == n)
                        .map(|(_, v)| STANDARD.encode(v))
                };
                let name = fields
                    .iter()
                    .find(|(f, _)| *f == 1)
                    .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
                    .unwrap_or_default();
                let request = if op == "encrypt" {
                    json!({"plaintext": bytes(2), "additionalAuthenticatedData": bytes(3)})
                } else {
                    json!({"ciphertext": bytes(2), "additionalAuthenticatedData": bytes(3)})
                };
                let rest = kms::execute(&shared, identity, &name, op, &request);
                if op == "encrypt" {
                    translate(rest, |j| {
                        let mut out = Vec::new();
                        put_bytes(&mut out, 1, j["name"].as_str().unwrap_or("").as_bytes());
                        put_bytes(&mut out, 2, &b64(&j["ciphertext"]));
                        out
                    })
                    .await
                } else {
                    translate(rest, |j| {
                        let mut out = Vec::new();
                        put_bytes(&mut out, 1, &b64(&j["plaintext"]));
                        out
                    })
                    .await
                }
            }
        }
    };
    shared.lock().log.push(Logged {
        method: "gRPC".into(),
        path,
        host: format!("{HOST}:443"),
        identity: identity.ok(),
        status: resp_status(&resp),
    });
    Ok(resp)
}

fn resp_status(resp: &Response<GrpcBody>) -> u16 {
    // The gRPC code of the trailers, as the log's status (0 = OK).
    resp.body()
        .0
        .back()
        .and_then(|f| f.trailers_ref())
        .and_then(|t| t.get("grpc-status"))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn b64(v: &Value) -> Vec<u8> {
    v.as_str()
        .and_then(|s| STANDARD.decode(s).ok())
        .unwrap_or_default()
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, field: u64, data: &[u8]) {
    put_varint(out, (field << 3) | 2);
    put_varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

fn varint(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// The length-delimited fields of a protobuf message (others skipped).
fn parse(data: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let Some(key) = varint(data, &mut pos) else {
            break;
        };
        match key & 7 {
            0 => {
                if varint(data, &mut pos).is_none() {
                    break;
                }
            }
            1 => pos += 8,
            5 => pos += 4,
            2 => {
                let Some(len) = varint(data, &mut pos) else {
                    break;
                };
                let end = pos.saturating_add(len as usize);
                let Some(v) = data.get(pos..end) else { break };
                out.push((key >> 3, v.to_vec()));
                pos = end;
            }
            _ => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protobuf_round_trip() {
        let mut m = Vec::new();
        put_bytes(&mut m, 1, b"projects/p");
        put_varint(&mut m, 7 << 3); // field 7, varint
        put_varint(&mut m, 300);
        put_bytes(&mut m, 2, &[0u8; 200]);
        assert_eq!(
            parse(&m),
            vec![(1, b"projects/p".to_vec()), (2, vec![0u8; 200])]
        );
    }
}
