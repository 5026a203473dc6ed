//! Cloud Storage JSON API v1, the part publishing and Google's clients use, objects in memory:
//! - `POST /upload/storage/v1/b/BUCKET/o?uploadType=media&name=OBJECT` (raw body) and
//!   `uploadType=multipart` (`multipart/related`: JSON metadata naming the object, then the
//!   data) → the object's resource;
//! - `GET /storage/v1/b/BUCKET` → the bucket; `GET /storage/v1/b/BUCKET/o/OBJECT` → the
//!   object's resource, or its bytes with `alt=media` (also under `/download/...`).
//!
//! Bearer tokens as for Cloud KMS; deny rules name `buckets/BUCKET`; Google's error bodies.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};

use crate::errors;
use crate::http::{self, Resp};
use crate::state::{Object, Shared};

/// Whether `path` belongs to this API.
pub fn owns(path: &str) -> bool {
    [
        "/upload/storage/v1/b/",
        "/storage/v1/b/",
        "/download/storage/v1/b/",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

/// The object's JSON resource.
fn resource(bucket: &str, name: &str, o: &Object) -> Value {
    json!({
        "kind": "storage#object",
        "id": format!("{bucket}/{name}/{}", o.generation),
        "name": name,
        "bucket": bucket,
        "generation": o.generation.to_string(),
        "metageneration": "1",
        "contentType": o.content_type,
        "size": o.data.len().to_string(),
        "crc32c": crc32c_b64(&o.data),
        "storageClass": "STANDARD",
    })
}

fn crc32c_b64(data: &[u8]) -> String {
    STANDARD.encode(crate::cipher::crc32c(data).to_be_bytes())
}

fn not_found(what: &str) -> Resp {
    errors::google(404, "NOT_FOUND", what)
}

/// Handles a request under one of [`owns`]'s prefixes; `identity` is authenticated.
pub async fn handle(shared: Arc<Shared>, req: Request<Incoming>, identity: &str) -> Resp {
    let path = req.uri().path().to_string();
    let query = http::query(&req);
    let decoded = |s: &str| percent_decode(s).unwrap_or_else(|| s.to_string());
    if let Some(rest) = path.strip_prefix("/upload/storage/v1/b/") {
        let Some(bucket) = rest.strip_suffix("/o") else {
            return not_found(&format!("No such upload path {path}."));
        };
        let bucket = decoded(bucket);
        if req.method() != Method::POST {
            return errors::google(405, "METHOD_NOT_ALLOWED", "uploads are POST");
        }
        let content_type = http::header(&req, "content-type")
            .unwrap_or("application/octet-stream")
            .to_string();
        let body = match http::body(req.into_body()).await {
            Ok(b) => b,
            Err(e) => return errors::google(400, "INVALID_ARGUMENT", &e),
        };
        let upload = match query.get("uploadType").map(String::as_str) {
            Some("media") => match query.get("name").filter(|n| !n.is_empty()) {
                Some(name) => Ok((name.clone(), content_type, body.to_vec())),
                None => Err("Required parameter: name"),
            },
            Some("multipart") => multipart(&content_type, &body),
            _ => Err("uploadType must be media or multipart"),
        };
        let (name, content_type, data) = match upload {
            Ok(u) => u,
            Err(message) => return errors::google(400, "INVALID_ARGUMENT", message),
        };
        return store(&shared, identity, &bucket, name, content_type, data);
    }
    if req.method() != Method::GET {
        return errors::google(405, "METHOD_NOT_ALLOWED", "only GET is served here");
    }
    let rest = path
        .strip_prefix("/storage/v1/b/")
        .or_else(|| path.strip_prefix("/download/storage/v1/b/"))
        .unwrap_or_default();
    let (bucket, object) = match rest.split_once("/o/") {
        Some((b, o)) => (decoded(b), Some(decoded(o))),
        None => (decoded(rest), None),
    };
    let state = shared.lock();
    if !state.allowed(identity, &format!("buckets/{bucket}")) {
        return denied(identity, &bucket, "get");
    }
    let Some(objects) = state.buckets.get(&bucket) else {
        return not_found("The specified bucket does not exist.");
    };
    let Some(name) = object else {
        return http::json(
            StatusCode::OK,
            &json!({"kind": "storage#bucket", "id": bucket, "name": bucket}),
        );
    };
    let Some(o) = objects.get(&name) else {
        return not_found(&format!("No such object: {bucket}/{name}"));
    };
    if query.get("alt").map(String::as_str) == Some("media") {
        let mut resp = Response::new(Full::new(Bytes::from(o.data.clone())));
        let headers = resp.headers_mut();
        let hash = format!("crc32c={}", crc32c_b64(&o.data));
        for (k, v) in [
            ("content-type", o.content_type.as_str()),
            ("x-goog-hash", hash.as_str()),
            ("x-goog-generation", &o.generation.to_string()),
        ] {
            if let Ok(v) = v.parse() {
                headers.insert(k, v);
            }
        }
        *resp.status_mut() = StatusCode::OK;
        return resp;
    }
    http::json(StatusCode::OK, &resource(&bucket, &name, o))
}

fn denied(identity: &str, bucket: &str, what: &str) -> Resp {
    errors::google(
        403,
        "PERMISSION_DENIED",
        &format!("{identity} does not have storage.objects.{what} access to the Google Cloud Storage bucket {bucket}. Permission 'storage.objects.{what}' denied on resource (or it may not exist)."),
    )
}

fn store(
    shared: &Shared,
    identity: &str,
    bucket: &str,
    name: String,
    content_type: String,
    data: Vec<u8>,
) -> Resp {
    let mut state = shared.lock();
    if !state.allowed(identity, &format!("buckets/{bucket}")) {
        return denied(identity, bucket, "create");
    }
    state.generation += 1;
    let generation = state.generation;
    let Some(objects) = state.buckets.get_mut(bucket) else {
        return not_found("The specified bucket does not exist.");
    };
    let object = Object {
        data,
        content_type,
        generation,
        uploader: identity.to_string(),
    };
    let answer = resource(bucket, &name, &object);
    objects.insert(name, object);
    http::json(StatusCode::OK, &answer)
}

/// `(name, content type, data)` of a `multipart/related` upload: a JSON part with the
/// object's metadata, then the data part.
fn multipart(content_type: &str, body: &[u8]) -> Result<(String, String, Vec<u8>), &'static str> {
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .map(|b| b.trim_matches('"'))
        .ok_or("multipart upload without a boundary")?;
    let delimiter = format!("--{boundary}");
    let parts = split(body, delimiter.as_bytes());
    // parts: preamble, metadata, data, closing "--".
    let part = |i: usize| -> Result<(&[u8], &[u8]), &'static str> {
        let raw = parts
            .get(i)
            .ok_or("multipart upload with fewer than two parts")?;
        let raw = raw.strip_prefix(b"\r\n").unwrap_or(raw);
        let raw = raw.strip_suffix(b"\r\n").unwrap_or(raw);
        let at = find(raw, b"\r\n\r\n").ok_or("multipart part without headers")?;
        Ok((&raw[..at], &raw[at + 4..]))
    };
    let (_, meta) = part(1)?;
    let meta: Value = serde_json::from_slice(meta).map_err(|_| "multipart metadata is not JSON")?;
    let name = meta["name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .ok_or("Required parameter: name")?
        .to_string();
    let (headers, data) = part(2)?;
    let part_type = String::from_utf8_lossy(headers)
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_string())
        })
        .or_else(|| meta["contentType"].as_str().map(str::to_string))
        .unwrap_or_else(|| "application/octet-stream".into());
    Ok((name, part_type, data.to_vec()))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split<'a>(mut body: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    while let Some(at) = find(body, delimiter) {
        out.push(&body[..at]);
        body = &body[at + delimiter.len()..];
    }
    out.push(body);
    out
}

/// `%XX` decoding of a path segment; `None` when malformed or not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The admin listing: every object with its bytes (base64) and uploader.
pub fn listing(shared: &Shared) -> Value {
    let state = shared.lock();
    let mut out = Vec::new();
    for (bucket, objects) in &state.buckets {
        for (name, o) in objects {
            out.push(json!({
                "bucket": bucket,
                "name": name,
                "content_type": o.content_type,
                "generation": o.generation,
                "uploader": o.uploader,
                "data": STANDARD.encode(&o.data),
            }));
        }
    }
    Value::Array(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_bodies_as_google_clients_send_them() {
        let body = b"--==b==\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n{\"name\": \"a/b.yaml\"}\r\n--==b==\r\ncontent-type: text/plain\r\n\r\nx\r\n--y\r\n--==b==--";
        let (name, ct, data) = multipart("multipart/related; boundary=\"==b==\"", body).unwrap();
        assert_eq!((name.as_str(), ct.as_str()), ("a/b.yaml", "text/plain"));
        assert_eq!(data, b"x\r\n--y");
        assert!(multipart("multipart/related", body).is_err());
        assert!(multipart(
            "multipart/related; boundary=zz",
            b"--zz\r\n\r\n{}\r\n--zz--"
        )
        .is_err());
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Fb%20c").as_deref(), Some("a/b c"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
    }
}
