use super::transport::segment;
use super::*;
use crate::keysource::azure_kv::error::Missing;
use crate::keysource::azure_kv::test_support::*;
use crate::keysource::rest::http::is_certificate_problem;
use crate::keysource::rest::test_server::{Reply, TestServer};

fn key(version: Option<&str>) -> KeyId {
    KeyId::new(VAULT, "k", version)
}

fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(
        status,
        &serde_json::json!({"error": {"code": code, "message": message}}).to_string(),
    )
}

#[tokio::test]
async fn challenge_flow_then_bearer_request() {
    let server = TestServer::start(vec![
        unauthorized(),
        Reply::json(200, &key_bundle("k", KID_VERSION, true)),
    ])
    .await;
    let (client, credential) = test_client(&server.url);
    let got = client.get_key(&key(None)).await.unwrap();
    assert_eq!(got.id, key(Some(KID_VERSION)));
    assert!(got.enabled);
    assert_eq!(got.jwk.kty, "RSA");

    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    // Go's path for the latest version, the api-version sops sends.
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].target, "/keys/k/?api-version=7.6");
    assert_eq!(seen[0].header("authorization"), None);
    assert_eq!(seen[1].target, seen[0].target);
    assert_eq!(
        seen[1].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    for r in &seen {
        assert_eq!(r.header("accept"), Some("application/json"));
        assert_eq!(r.header("content-type"), Some("application/json"));
        let id = r.header("x-ms-client-request-id").unwrap();
        assert_eq!((id.len(), &id[14..15]), (36, "4"), "{id}");
    }
    assert_ne!(
        seen[0].header("x-ms-client-request-id"),
        seen[1].header("x-ms-client-request-id")
    );
    let asked = credential.requests.borrow();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].scopes, ["https://vault.azure.net/.default"]);
    assert_eq!(asked[0].tenant_id.as_deref(), Some(TENANT));
}

#[tokio::test]
async fn first_post_has_no_body_then_the_body_goes_with_the_token() {
    let server = TestServer::start(vec![
        unauthorized(),
        Reply::json(200, &operation_answer("k", KID_VERSION, &[9u8; 256])),
    ])
    .await;
    let (client, _) = test_client(&server.url);
    let result = client
        .encrypt(&key(Some(KID_VERSION)), Algorithm::RsaOaep256, &[1u8; 32])
        .await
        .unwrap();
    assert_eq!(*result.value, vec![9u8; 256]);
    assert_eq!(result.kid, format!("{VAULT}/keys/k/{KID_VERSION}"));
    let seen = server.requests();
    assert_eq!(seen[0].method, "POST");
    assert_eq!(
        seen[0].target,
        format!("/keys/k/{KID_VERSION}/encrypt?api-version=7.6")
    );
    assert_eq!(seen[0].body, "");
    assert_eq!(seen[0].header("content-length"), Some("0"));
    let body: serde_json::Value = serde_json::from_str(&seen[1].body).unwrap();
    assert_eq!(body["alg"], "RSA-OAEP-256");
    // 32 bytes as unpadded base64url: 43 characters, no '='.
    assert_eq!(body["value"], b64url(&[1u8; 32]));
    assert_eq!(body["value"].as_str().unwrap().len(), 43);
}

#[tokio::test]
async fn the_challenge_is_cached_per_vault() {
    let answer = operation_answer("k", KID_VERSION, b"x");
    let server = TestServer::start(vec![
        unauthorized(),
        Reply::json(200, &answer),
        Reply::json(200, &answer),
        Reply::json(200, &answer),
    ])
    .await;
    let (client, credential) = test_client(&server.url);
    let k = key(Some(KID_VERSION));
    for op in [Operation::Decrypt, Operation::WrapKey, Operation::UnwrapKey] {
        let result = match op {
            Operation::Decrypt => client.decrypt(&k, Algorithm::RsaOaep256, b"c").await,
            Operation::WrapKey => client.wrap_key(&k, Algorithm::RsaOaep256, b"c").await,
            _ => client.unwrap_key(&k, Algorithm::RsaOaep256, b"c").await,
        };
        assert_eq!(*result.unwrap().value, b"x".to_vec());
    }
    let targets: Vec<String> = server.requests().into_iter().map(|r| r.target).collect();
    let path = |op: &str| format!("/keys/k/{KID_VERSION}/{op}?api-version=7.6");
    assert_eq!(
        targets,
        [
            path("decrypt"),
            path("decrypt"),
            path("wrapkey"),
            path("unwrapkey")
        ]
    );
    assert_eq!(client.request_count(), 4);
    assert_eq!(credential.requests.borrow().len(), 3);
}

#[tokio::test]
async fn concurrent_operations_share_the_client() {
    let answer = || Reply::json(200, &operation_answer("k", KID_VERSION, b"plain"));
    let server =
        TestServer::start(vec![unauthorized(), answer(), answer(), answer(), answer()]).await;
    let (client, _) = test_client(&server.url);
    let k = key(Some(KID_VERSION));
    client
        .decrypt(&k, Algorithm::RsaOaep256, b"c")
        .await
        .unwrap();
    let (a, b, c) = tokio::join!(
        client.decrypt(&k, Algorithm::RsaOaep256, b"1"),
        client.decrypt(&k, Algorithm::RsaOaep256, b"2"),
        client.decrypt(&k, Algorithm::RsaOaep256, b"3"),
    );
    for result in [a, b, c] {
        assert_eq!(*result.unwrap().value, b"plain".to_vec());
    }
    let seen = server.requests();
    assert_eq!(seen.len(), 5);
    assert!(seen[2..]
        .iter()
        .all(|r| r.header("authorization").is_some()));
}

#[tokio::test]
async fn a_rejected_token_rechallenges_once_then_fails() {
    let rejected = || unauthorized();
    let server = TestServer::start(vec![unauthorized(), rejected(), rejected()]).await;
    let (client, credential) = test_client(&server.url);
    let err = client.get_key(&key(Some(KID_VERSION))).await.unwrap_err();
    assert!(matches!(err, KvError::Unauthorized { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("TestCredential") && text.contains("AKV10000"),
        "{text}"
    );
    assert!(text.contains(&key(Some(KID_VERSION)).to_string()), "{text}");
    assert!(!text.contains(TOKEN));
    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    assert!(seen[1].header("authorization").is_some());
    assert!(seen[2].header("authorization").is_some());
    assert_eq!(credential.requests.borrow().len(), 2);
    assert_eq!(
        credential.invalidated.get(),
        2,
        "each rejected token is forgotten"
    );
}

#[tokio::test]
async fn a_rechallenge_with_a_fresh_token_succeeds() {
    let server = TestServer::start(vec![
        unauthorized(),
        unauthorized(),
        Reply::json(200, &key_bundle("k", KID_VERSION, true)),
    ])
    .await;
    let (client, credential) = test_client(&server.url);
    client.get_key(&key(None)).await.unwrap();
    assert_eq!(credential.requests.borrow().len(), 2);
}

#[tokio::test]
async fn retry_after_is_honoured_and_counted() {
    let throttled = error(429, "Throttled", "Too many requests").header("Retry-After", "1");
    let server = TestServer::start(vec![
        unauthorized(),
        throttled,
        Reply::json(200, &key_bundle("k", KID_VERSION, true)),
    ])
    .await;
    let (client, _) = test_client(&server.url);
    let started = std::time::Instant::now();
    client.get_key(&key(None)).await.unwrap();
    // The backoff base is 2 ms: only Retry-After explains a full second.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.requests().len(), 3);
    assert_eq!(client.request_count(), 3);
}

#[tokio::test]
async fn unavailable_is_retried_then_succeeds() {
    let server = TestServer::start(vec![
        unauthorized(),
        error(503, "ServiceUnavailable", "busy"),
        error(502, "BadGateway", "proxy"),
        Reply::json(200, &key_bundle("k", KID_VERSION, true)),
    ])
    .await;
    let (client, _) = test_client(&server.url);
    client.get_key(&key(None)).await.unwrap();
    let seen = server.requests();
    assert_eq!(seen.len(), 4);
    assert!(seen[1..]
        .iter()
        .all(|r| r.header("authorization").is_some()));
}

#[tokio::test]
async fn attempts_are_bounded_and_the_error_says_so() {
    let throttled = || {
        error(
            429,
            "Throttled",
            "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
        )
        .header("retry-after-ms", "1")
    };
    let mut script = vec![unauthorized()];
    script.extend((0..10).map(|_| throttled()));
    let server = TestServer::start(script).await;
    let (client, _) = test_client(&server.url);
    let err = client
        .decrypt(&key(Some(KID_VERSION)), Algorithm::RsaOaep256, b"c")
        .await;
    let err = err.unwrap_err();
    assert!(
        matches!(err, KvError::Throttled { attempts: 4, .. }),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("after 4 attempts") && text.contains("decrypt"),
        "{text}"
    );
    assert_eq!(server.requests().len(), 1 + 4);
}

#[tokio::test]
async fn forbidden_names_the_permission_in_both_models() {
    let rbac = "Caller is not authorized to perform action on resource.\r\nCaller: appid=a\r\nAction: 'Microsoft.KeyVault/vaults/keys/decrypt/action'\r\nResource: '/subscriptions/s'\r\n";
    let server = TestServer::start(vec![
        unauthorized(),
        Reply::json(
            403,
            &serde_json::json!({"error": {"code": "Forbidden", "message": rbac,
                "innererror": {"code": "ForbiddenByRbac"}}})
            .to_string(),
        ),
    ])
    .await;
    let (client, _) = test_client(&server.url);
    let err = client
        .decrypt(&key(Some(KID_VERSION)), Algorithm::RsaOaep256, b"c")
        .await
        .unwrap_err()
        .to_string();
    for part in [
        "denied decrypt on https://myvault.vault.azure.net/keys/k/46a35325fd3a49debd2b22d4b0d75719",
        "RBAC data action 'Microsoft.KeyVault/vaults/keys/decrypt/action'",
        "key permission 'keys/decrypt'",
        "Key Vault said: Action: 'Microsoft.KeyVault/vaults/keys/decrypt/action'",
    ] {
        assert!(err.contains(part), "missing {part:?} in {err}");
    }
}

#[tokio::test]
async fn not_found_tells_a_missing_version_from_a_missing_key() {
    let missing = || {
        error(
            404,
            "KeyNotFound",
            "A key with (name/id) k was not found in this key vault.",
        )
    };
    // The version is missing: the latest version exists.
    let server = TestServer::start(vec![
        unauthorized(),
        missing(),
        Reply::json(
            200,
            &key_bundle("k", "ffffffffffffffffffffffffffffffff", true),
        ),
    ])
    .await;
    let (client, _) = test_client(&server.url);
    let err = client
        .decrypt(&key(Some(KID_VERSION)), Algorithm::RsaOaep256, b"c")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            KvError::NotFound {
                missing: Missing::Version,
                ..
            }
        ),
        "{err}"
    );
    assert!(err
        .to_string()
        .contains(&format!("has no version '{KID_VERSION}'")));
    assert_eq!(server.requests()[2].target, "/keys/k/?api-version=7.6");

    // The key is missing: the probe is a 404 too.
    let server = TestServer::start(vec![unauthorized(), missing(), missing()]).await;
    let (client, _) = test_client(&server.url);
    let err = client
        .decrypt(&key(Some(KID_VERSION)), Algorithm::RsaOaep256, b"c")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            KvError::NotFound {
                missing: Missing::Key,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("has no key named 'k'"), "{err}");

    // The probe itself is refused: the error says it could be either.
    let server = TestServer::start(vec![
        unauthorized(),
        missing(),
        error(403, "Forbidden", "no keys get permission"),
    ])
    .await;
    let (client, _) = test_client(&server.url);
    let err = client
        .decrypt(&key(Some(KID_VERSION)), Algorithm::RsaOaep256, b"c")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            KvError::NotFound {
                missing: Missing::KeyOrVersion,
                ..
            }
        ),
        "{err}"
    );

    // No version given: no probe.
    let server = TestServer::start(vec![unauthorized(), missing()]).await;
    let (client, _) = test_client(&server.url);
    let err = client.get_key(&key(None)).await.unwrap_err();
    assert!(
        matches!(
            err,
            KvError::NotFound {
                missing: Missing::Key,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_network_error_names_the_host() {
    // A port that was free a moment ago: nothing listens there.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let (client, credential) = test_client(&format!("http://{addr}"));
    let err = client.get_key(&key(None)).await.unwrap_err();
    let KvError::Network { host, attempts, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(host, &addr.to_string());
    assert_eq!(*attempts, 4);
    let text = err.to_string();
    assert!(
        text.contains(&addr.to_string()) && text.contains("kv-proxy"),
        "{text}"
    );
    assert_eq!(client.request_count(), 4);
    assert!(credential.requests.borrow().is_empty());
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let replies = [
        None,
        Some((
            "401 Unauthorized",
            format!("WWW-Authenticate: {}\r\n", challenge()),
            String::new(),
        )),
        Some(("200 OK", String::new(), key_bundle("k", KID_VERSION, true))),
    ];
    let server = tokio::spawn(async move {
        for reply in replies {
            let (mut stream, _) = listener.accept().await.unwrap();
            let Some((status, headers, body)) = reply else {
                drop(stream); // closed without an answer
                continue;
            };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).await.unwrap() == 1 {
                head.push(byte[0]);
            }
            let answer = format!(
                "HTTP/1.1 {status}\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(answer.as_bytes()).await.unwrap();
        }
    });
    let (client, _) = test_client(&url);
    let got = client.get_key(&key(None)).await.unwrap();
    assert_eq!(got.id.version.as_deref(), Some(KID_VERSION));
    assert_eq!(client.request_count(), 3);
    server.await.unwrap();
}

#[test]
fn only_certificate_failures_suggest_a_ca_and_skip_retries() {
    assert!(is_certificate_problem(
        "error sending request: invalid peer certificate: UnknownIssuer"
    ));
    assert!(!is_certificate_problem(
        "connection error: peer closed connection without sending TLS close_notify"
    ));
    assert!(!is_certificate_problem(
        "tcp connect error: Connection refused"
    ));
}

#[tokio::test]
async fn a_foreign_challenge_resource_is_refused_unless_the_check_is_off() {
    let foreign = || {
        Reply::json(401, "{}").header(
            "WWW-Authenticate",
            r#"Bearer authorization="https://login.microsoftonline.com/t", resource="https://attacker.example""#,
        )
    };
    let server = TestServer::start(vec![foreign()]).await;
    let (client, credential) = test_client(&server.url);
    let err = client.get_key(&key(None)).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, KvError::Challenge { .. }), "{text}");
    assert!(
        text.contains("\"https://attacker.example\"")
            && text.contains("\"myvault.vault.azure.net\""),
        "{text}"
    );
    assert!(text.contains("--azure-kv-skip-resource-check"), "{text}");
    assert!(
        credential.requests.borrow().is_empty(),
        "no token may be requested"
    );

    let server = TestServer::start(vec![
        foreign(),
        Reply::json(200, &key_bundle("k", KID_VERSION, true)),
    ])
    .await;
    let (client, credential) =
        test_client_with(&server.url, |o| o.verify_challenge_resource = false);
    client.get_key(&key(None)).await.unwrap();
    assert_eq!(
        credential.requests.borrow()[0].scopes,
        ["https://attacker.example/.default"]
    );
}

#[tokio::test]
async fn the_endpoint_may_carry_a_path_prefix() {
    let server = TestServer::start(vec![
        unauthorized(),
        Reply::json(200, &key_bundle("k", KID_VERSION, true)),
    ])
    .await;
    let (client, _) = test_client(&format!("{}/myvault.vault.azure.net/", server.url));
    client.get_key(&key(Some(KID_VERSION))).await.unwrap();
    assert_eq!(
        server.requests()[1].target,
        format!("/myvault.vault.azure.net/keys/k/{KID_VERSION}?api-version=7.6")
    );
}

#[test]
fn options_and_encodings() {
    let bad = KeyVaultClient::new(
        reqwest::Client::new(),
        Rc::new(TestCredential::default()),
        ClientOptions {
            endpoint: Some("ftp://x".into()),
            ..ClientOptions::default()
        },
    );
    assert!(matches!(bad, Err(KvError::Config(_))));
    assert_eq!(segment("a b/c"), "a%20b%2Fc");
    assert_eq!(*b64url_decode("AQAB").unwrap(), [1, 0, 1]);
    assert_eq!(*b64url_decode("+/8=").unwrap(), [0xfb, 0xff]);
    assert_eq!(*b64url_decode("-_8").unwrap(), [0xfb, 0xff]);
    assert!(b64url_decode("*").is_err());
}

/// Eight operations on a vault whose challenge is not known yet: one unauthenticated
/// request (the 401 challenge), one token, then the eight requests with it.
#[tokio::test]
async fn concurrent_first_operations_share_one_challenge_and_one_token() {
    let answer = || Reply::json(200, &operation_answer("k", KID_VERSION, b"plain"));
    let mut replies = vec![unauthorized()];
    replies.extend((0..8).map(|_| answer()));
    let server = TestServer::start(replies).await;
    let credential = Rc::new(
        crate::keysource::azure_kv::credential::cache::CachingCredential::new(
            TestCredential::default(),
        ),
    );
    let options = ClientOptions {
        endpoint: Some(server.url.clone()),
        retry: fast_retry(),
        ..ClientOptions::default()
    };
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let client = KeyVaultClient::new(http, credential.clone(), options).unwrap();
    let k = key(Some(KID_VERSION));
    let inputs: Vec<[u8; 1]> = (0..8u8).map(|i| [i]).collect();
    let results = futures_util::future::join_all(
        inputs
            .iter()
            .map(|c| client.decrypt(&k, Algorithm::RsaOaep256, c)),
    )
    .await;
    for result in results {
        assert_eq!(*result.unwrap().value, b"plain".to_vec());
    }
    let seen = server.requests();
    assert_eq!(seen.len(), 9);
    let unauthenticated = seen
        .iter()
        .filter(|r| r.header("authorization").is_none())
        .count();
    assert_eq!(unauthenticated, 1, "one challenge discovery");
    assert_eq!(client.request_count(), 9);
    assert_eq!(credential.inner().requests.borrow().len(), 1, "one token");
}

/// Hands out `tok-1`, `tok-2`, … at once, counting them.
#[derive(Default)]
struct Numbered(std::cell::Cell<u32>);

#[async_trait::async_trait(?Send)]
impl TokenCredential for Numbered {
    fn name(&self) -> &str {
        "Numbered"
    }

    async fn get_token(
        &self,
        _request: &crate::keysource::azure_kv::credential::TokenRequest,
    ) -> Result<
        crate::keysource::azure_kv::credential::AccessToken,
        crate::keysource::azure_kv::credential::CredentialError,
    > {
        self.0.set(self.0.get() + 1);
        let token = format!("tok-{}", self.0.get());
        Ok(crate::keysource::azure_kv::credential::AccessToken {
            token: Zeroizing::new(token),
            expires_on: u64::MAX,
        })
    }
}

/// Eight operations whose cached token Key Vault rejects at once: the first to see the
/// 401 drops the token and fetches a new one; the others, seeing their 401 after that,
/// keep the new one instead of dropping it in turn (one refresh, not eight).
#[tokio::test]
async fn a_token_rejected_for_concurrent_operations_is_refreshed_once() {
    let answer = || Reply::json(200, &operation_answer("k", KID_VERSION, b"plain"));
    let mut replies: Vec<Reply> = (0..9).map(|_| unauthorized()).collect();
    replies.extend((0..8).map(|_| answer()));
    let server = TestServer::start(replies).await;
    let credential = Rc::new(
        crate::keysource::azure_kv::credential::cache::CachingCredential::new(Numbered::default()),
    );
    let options = ClientOptions {
        endpoint: Some(server.url.clone()),
        retry: fast_retry(),
        ..ClientOptions::default()
    };
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let client = KeyVaultClient::new(http, credential.clone(), options).unwrap();
    let k = key(Some(KID_VERSION));
    let inputs: Vec<[u8; 1]> = (0..8u8).map(|i| [i]).collect();
    let results = futures_util::future::join_all(
        inputs
            .iter()
            .map(|c| client.decrypt(&k, Algorithm::RsaOaep256, c)),
    )
    .await;
    for result in results {
        assert_eq!(*result.unwrap().value, b"plain".to_vec());
    }
    assert_eq!(
        credential.inner().0.get(),
        2,
        "the first token and one refresh"
    );
    let bearers: Vec<Option<String>> = server
        .requests()
        .iter()
        .map(|r| r.header("authorization").map(String::from))
        .collect();
    assert_eq!(bearers.len(), 17);
    assert_eq!(bearers.iter().filter(|b| b.is_none()).count(), 1);
    let with = |t: &str| {
        bearers
            .iter()
            .filter(|b| b.as_deref() == Some(&format!("Bearer {t}")))
            .count()
    };
    assert_eq!((with("tok-1"), with("tok-2")), (8, 8));
}
