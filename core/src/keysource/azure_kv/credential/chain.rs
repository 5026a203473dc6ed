//! The default credential chain, in the Azure SDKs' order: Environment →
//! WorkloadIdentity → ManagedIdentity → AzureCli (native only). The SDKs' Azure Developer
//! CLI and Azure PowerShell credentials are not implemented.
//!
//! - Each credential is tried in turn; one that is not configured here ("unavailable")
//!   passes to the next. A configured credential that fails stops the chain with its
//!   error, as the SDKs do, so a broken service principal is not silently replaced by
//!   another identity. Once a credential has succeeded, the chain keeps using it.
//! - `AZURE_TOKEN_CREDENTIALS` narrows the chain: `dev` (the CLI), `prod` (Environment,
//!   WorkloadIdentity, ManagedIdentity) or one credential's name, case-insensitive. An
//!   explicit selection (the CLI's `--azure-credential NAME`) overrides it.
//! - When nothing works, the error lists every credential tried and why, then what to do.
//! - [`DefaultChain`] caches tokens ([`CachingCredential`]).

use super::cache::CachingCredential;
use super::environment::EnvironmentCredential;
use super::managed_identity::ManagedIdentityCredential;
use super::workload_identity::WorkloadIdentityCredential;
use super::{AccessToken, CredentialError, EnvLookup, TokenCredential, TokenRequest};
use async_trait::async_trait;
use std::sync::Mutex;

/// The chain's name in errors.
pub const NAME: &str = "DefaultAzureCredential";

/// A member of the default chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainMember {
    /// [`EnvironmentCredential`].
    Environment,
    /// [`WorkloadIdentityCredential`].
    WorkloadIdentity,
    /// [`ManagedIdentityCredential`].
    ManagedIdentity,
    /// The Azure CLI (native only).
    AzureCli,
}

impl ChainMember {
    /// Every member, in chain order.
    pub const ALL: [ChainMember; 4] = [
        ChainMember::Environment,
        ChainMember::WorkloadIdentity,
        ChainMember::ManagedIdentity,
        ChainMember::AzureCli,
    ];

    /// The credential's name as the Azure SDKs spell it.
    pub fn name(self) -> &'static str {
        match self {
            ChainMember::Environment => "EnvironmentCredential",
            ChainMember::WorkloadIdentity => "WorkloadIdentityCredential",
            ChainMember::ManagedIdentity => "ManagedIdentityCredential",
            ChainMember::AzureCli => "AzureCliCredential",
        }
    }

    /// What a user does to make this credential work.
    fn hint(self) -> &'static str {
        match self {
            ChainMember::Environment => {
                "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or \
                 AZURE_CLIENT_CERTIFICATE_PATH) for a service principal"
            }
            ChainMember::WorkloadIdentity => {
                "on Kubernetes, enable workload identity (AZURE_FEDERATED_TOKEN_FILE, \
                 AZURE_CLIENT_ID, AZURE_TENANT_ID)"
            }
            ChainMember::ManagedIdentity => {
                "on Azure, assign a managed identity (App Service: IDENTITY_ENDPOINT and \
                 IDENTITY_HEADER; VMs: IMDS)"
            }
            ChainMember::AzureCli => "run `az login`",
        }
    }
}

/// Credentials named in `AZURE_TOKEN_CREDENTIALS` that this tool does not implement.
const NOT_IMPLEMENTED: [&str; 2] = ["AzureDeveloperCliCredential", "AzurePowerShellCredential"];

/// The members to try: `explicit` (e.g. `--azure-credential`) if given, else
/// `AZURE_TOKEN_CREDENTIALS` from `env`, else all of them. Errors on an unknown value
/// with the Go SDK's wording.
pub fn select(env: EnvLookup, explicit: Option<&str>) -> Result<Vec<ChainMember>, CredentialError> {
    let (source, value) = match explicit.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => ("--azure-credential", v.to_string()),
        None => match env("AZURE_TOKEN_CREDENTIALS").map(|v| v.trim().to_string()) {
            Some(v) if !v.is_empty() => ("AZURE_TOKEN_CREDENTIALS", v),
            _ => return Ok(ChainMember::ALL.to_vec()),
        },
    };
    if value.eq_ignore_ascii_case("dev") {
        return Ok(vec![ChainMember::AzureCli]);
    }
    if value.eq_ignore_ascii_case("prod") {
        return Ok(vec![
            ChainMember::Environment,
            ChainMember::WorkloadIdentity,
            ChainMember::ManagedIdentity,
        ]);
    }
    if let Some(member) = ChainMember::ALL
        .into_iter()
        .find(|m| m.name().eq_ignore_ascii_case(&value))
    {
        return Ok(vec![member]);
    }
    if let Some(name) = NOT_IMPLEMENTED
        .iter()
        .find(|n| n.eq_ignore_ascii_case(&value))
    {
        return Err(CredentialError::failed(
            NAME,
            format!("{source}: {name} is not implemented by leafcrypt"),
        ));
    }
    let names: Vec<&str> = ChainMember::ALL.iter().map(|m| m.name()).collect();
    Err(CredentialError::failed(
        NAME,
        format!(
            "invalid {source} value \"{value}\". Valid values are \"dev\", \"prod\", or the name of \
             any credential type in the default chain ({})",
            names.join(", ")
        ),
    ))
}

/// A credential that could not be set up; it reports why when asked for a token.
struct Unusable(CredentialError);

#[async_trait(?Send)]
impl TokenCredential for Unusable {
    fn name(&self) -> &str {
        &self.0.credential
    }

    async fn get_token(&self, _request: &TokenRequest) -> Result<AccessToken, CredentialError> {
        Err(self.0.clone())
    }
}

/// Builds `member` from `env`; `probe` keeps the managed-identity IMDS probe short (when
/// other credentials follow or precede it).
fn build(
    member: ChainMember,
    env: EnvLookup,
    http: &reqwest::Client,
    probe: bool,
) -> Box<dyn TokenCredential> {
    let built: Result<Box<dyn TokenCredential>, CredentialError> = match member {
        ChainMember::Environment => EnvironmentCredential::from_env(env, http.clone())
            .map(|c| Box::new(c) as Box<dyn TokenCredential>),
        ChainMember::WorkloadIdentity => WorkloadIdentityCredential::from_env(env, http.clone())
            .map(|c| Box::new(c) as Box<dyn TokenCredential>),
        ChainMember::ManagedIdentity => {
            ManagedIdentityCredential::from_env(env, http.clone()).map(|c| {
                let c = if probe { c } else { c.with_probe_timeout(None) };
                Box::new(c) as Box<dyn TokenCredential>
            })
        }
        #[cfg(not(target_arch = "wasm32"))]
        ChainMember::AzureCli => Ok(Box::new(super::azure_cli::AzureCliCredential::from_env(
            env,
        ))),
        #[cfg(target_arch = "wasm32")]
        ChainMember::AzureCli => Err(CredentialError::unavailable(
            member.name(),
            "the Azure CLI cannot run in WebAssembly",
        )),
    };
    built.unwrap_or_else(|e| Box::new(Unusable(e)))
}

/// Tries credentials in order (see the module docs), without caching.
pub struct ChainedCredential {
    members: Vec<(Box<dyn TokenCredential>, &'static str)>,
    chosen: Mutex<Option<usize>>,
}

impl std::fmt::Debug for ChainedCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.members.iter().map(|(m, _)| m.name()).collect();
        write!(f, "ChainedCredential({})", names.join(" → "))
    }
}

impl ChainedCredential {
    /// A chain of `members`, each with the hint shown when nothing works.
    pub fn new(members: Vec<(Box<dyn TokenCredential>, &'static str)>) -> Self {
        Self {
            members,
            chosen: Mutex::new(None),
        }
    }

    /// The credential names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.members.iter().map(|(m, _)| m.name()).collect()
    }

    fn chosen(&self) -> Option<usize> {
        self.chosen.lock().ok().and_then(|c| *c)
    }

    fn report(&self, tried: &[CredentialError]) -> CredentialError {
        let lines: Vec<String> = tried
            .iter()
            .map(|e| {
                let state = if e.unavailable {
                    "unavailable"
                } else {
                    "failed"
                };
                format!("  - {} ({state}): {}", e.credential, e.message)
            })
            .collect();
        let hints: Vec<&str> = self
            .members
            .iter()
            .map(|(_, h)| *h)
            .filter(|h| !h.is_empty())
            .collect();
        CredentialError {
            credential: NAME.into(),
            message: format!(
                "no Azure credential could get a token. Tried, in order:\n{}\nTo authenticate: {}; \
                 or pick one credential with --azure-credential NAME (or AZURE_TOKEN_CREDENTIALS).",
                lines.join("\n"),
                hints.join("; ")
            ),
            unavailable: tried.iter().all(|e| e.unavailable),
        }
    }
}

#[async_trait(?Send)]
impl TokenCredential for ChainedCredential {
    fn name(&self) -> &str {
        NAME
    }

    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, CredentialError> {
        if let Some(i) = self.chosen() {
            return self.members[i].0.get_token(request).await;
        }
        let mut tried = Vec::new();
        for (i, (member, _)) in self.members.iter().enumerate() {
            match member.get_token(request).await {
                Ok(token) => {
                    if let Ok(mut chosen) = self.chosen.lock() {
                        *chosen = Some(i);
                    }
                    return Ok(token);
                }
                Err(e) if e.unavailable => tried.push(e),
                Err(e) => {
                    let skipped: Vec<&str> = self.members[i + 1..]
                        .iter()
                        .map(|(m, _)| m.name())
                        .collect();
                    let mut message = format!(
                        "{} is configured but failed, so the chain stopped there (as in the Azure SDKs): {}",
                        e.credential, e.message
                    );
                    if !skipped.is_empty() {
                        message.push_str(&format!("\nNot tried: {}.", skipped.join(", ")));
                    }
                    if !tried.is_empty() {
                        let before: Vec<String> =
                            tried.iter().map(|t| format!("  - {t}")).collect();
                        message
                            .push_str(&format!("\nUnavailable before it:\n{}", before.join("\n")));
                    }
                    return Err(CredentialError::failed(NAME, message));
                }
            }
        }
        Err(self.report(&tried))
    }

    fn invalidate(&self, request: &TokenRequest) {
        for (member, _) in &self.members {
            member.invalidate(request);
        }
    }

    fn invalidate_rejected(&self, request: &TokenRequest, token: &str) {
        for (member, _) in &self.members {
            member.invalidate_rejected(request, token);
        }
    }
}

/// The default chain read from the environment, with a token cache.
#[derive(Debug)]
pub struct DefaultChain {
    cached: CachingCredential<ChainedCredential>,
}

impl DefaultChain {
    /// Builds the chain from `env` (natively usually [`super::process_env`]), narrowed by
    /// `selection` (`--azure-credential`) or `AZURE_TOKEN_CREDENTIALS`. Only a bad
    /// selection errors here; credentials report their problems when a token is needed.
    pub fn from_env(
        env: EnvLookup,
        selection: Option<&str>,
        http: reqwest::Client,
    ) -> Result<Self, CredentialError> {
        let members = select(env, selection)?;
        let probe = members.len() > 1;
        let built = members
            .iter()
            .map(|m| (build(*m, env, &http, probe), m.hint()))
            .collect();
        Ok(Self {
            cached: CachingCredential::new(ChainedCredential::new(built)),
        })
    }

    /// The credential names that will be tried, in order.
    pub fn names(&self) -> Vec<&str> {
        self.cached.inner().names()
    }

    /// Forgets cached tokens (e.g. after Key Vault rejected one).
    pub fn clear_cache(&self) {
        self.cached.clear()
    }
}

#[async_trait(?Send)]
impl TokenCredential for DefaultChain {
    fn name(&self) -> &str {
        NAME
    }

    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, CredentialError> {
        self.cached.get_token(request).await
    }

    fn invalidate(&self, request: &TokenRequest) {
        self.cached.invalidate(request)
    }

    fn invalidate_rejected(&self, request: &TokenRequest, token: &str) {
        self.cached.invalidate_rejected(request, token)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::keysource::azure_kv::credential::test_support::{env_of, write_script};
    use crate::keysource::rest::test_server::{Reply, TestServer};

    /// Everything a chain test reads. IMDS always points at a closed loopback port and
    /// `PATH` at a directory without `az`, unless a test overrides them: nothing may reach
    /// 169.254.169.254 or a real Azure CLI.
    struct Setup {
        vars: Vec<(String, String)>,
        _dirs: Vec<tempfile::TempDir>,
    }

    impl Setup {
        fn new() -> Self {
            let closed = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap();
            let empty = tempfile::tempdir().unwrap();
            let vars = vec![
                ("IMDS_ENDPOINT".to_string(), format!("http://{closed}")),
                ("PATH".to_string(), empty.path().display().to_string()),
            ];
            Self {
                vars,
                _dirs: vec![empty],
            }
        }

        fn set(mut self, name: &str, value: &str) -> Self {
            self.vars.retain(|(k, _)| k != name);
            self.vars.push((name.into(), value.into()));
            self
        }

        /// A fake `az` printing `token` on the PATH.
        fn with_az(mut self, token: &str) -> Self {
            let dir = tempfile::tempdir().unwrap();
            write_script(
                &dir.path().join("az"),
                &format!(
                    "#!/bin/sh\necho '{{\"accessToken\":\"{token}\",\"expires_on\":1900000000}}'\n"
                ),
            );
            let path = dir.path().display().to_string();
            self._dirs.push(dir);
            self.set("PATH", &path)
        }

        fn chain(&self, selection: Option<&str>) -> Result<DefaultChain, CredentialError> {
            let pairs: Vec<(&str, &str)> = self
                .vars
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            DefaultChain::from_env(&env_of(&pairs), selection, reqwest::Client::new())
        }
    }

    fn request() -> TokenRequest {
        TokenRequest {
            scopes: vec!["https://vault.azure.net/.default".into()],
            tenant_id: None,
        }
    }

    fn token_reply(token: &str) -> Reply {
        Reply::json(
            200,
            &format!(r#"{{"access_token":"{token}","expires_in":3600,"expires_on":"1900000000"}}"#),
        )
    }

    async fn token(chain: &DefaultChain) -> String {
        chain.get_token(&request()).await.unwrap().token.to_string()
    }

    fn service_principal(setup: Setup, authority: &str) -> Setup {
        setup
            .set("AZURE_TENANT_ID", "t1")
            .set("AZURE_CLIENT_ID", "c1")
            .set("AZURE_CLIENT_SECRET", "s1")
            .set("AZURE_AUTHORITY_HOST", authority)
    }

    fn app_service(setup: Setup, server: &TestServer) -> Setup {
        setup
            .set("IDENTITY_ENDPOINT", &format!("{}/msi/token", server.url))
            .set("IDENTITY_HEADER", "h")
    }

    #[tokio::test]
    async fn the_first_configured_credential_wins_in_sdk_order() {
        let entra = TestServer::start(vec![token_reply("from-environment")]).await;
        let msi = TestServer::start(vec![token_reply("from-managed-identity")]).await;
        let setup = app_service(service_principal(Setup::new(), &entra.url), &msi);
        let chain = setup.chain(None).unwrap();
        assert_eq!(
            chain.names(),
            [
                "EnvironmentCredential",
                "WorkloadIdentityCredential",
                "ManagedIdentityCredential",
                "AzureCliCredential"
            ]
        );
        assert_eq!(token(&chain).await, "from-environment");
        assert_eq!(msi.requests().len(), 0);

        let msi = TestServer::start(vec![token_reply("from-managed-identity")]).await;
        let setup = app_service(Setup::new(), &msi).with_az("from-cli");
        assert_eq!(
            token(&setup.chain(None).unwrap()).await,
            "from-managed-identity"
        );

        let setup = Setup::new().with_az("from-cli");
        assert_eq!(token(&setup.chain(None).unwrap()).await, "from-cli");
    }

    #[tokio::test]
    async fn workload_identity_comes_before_managed_identity() {
        let entra = TestServer::start(vec![token_reply("from-workload")]).await;
        let msi = TestServer::start(vec![token_reply("from-managed-identity")]).await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "federated").unwrap();
        let chain = app_service(Setup::new(), &msi)
            .set("AZURE_FEDERATED_TOKEN_FILE", &file.display().to_string())
            .set("AZURE_CLIENT_ID", "c")
            .set("AZURE_TENANT_ID", "t")
            .set("AZURE_AUTHORITY_HOST", &entra.url)
            .chain(None)
            .unwrap();
        assert_eq!(token(&chain).await, "from-workload");
        assert!(msi.requests().is_empty());
    }

    #[tokio::test]
    async fn imds_is_tried_at_the_override_and_answers_for_the_chain() {
        let imds = TestServer::start(vec![token_reply("from-imds")]).await;
        let chain = Setup::new()
            .set("IMDS_ENDPOINT", &imds.url)
            .chain(None)
            .unwrap();
        assert_eq!(token(&chain).await, "from-imds");
        let seen = imds.requests();
        assert_eq!(seen.len(), 1);
        assert!(seen[0]
            .target
            .starts_with("/metadata/identity/oauth2/token?api-version=2018-02-01"));
    }

    #[tokio::test]
    async fn when_nothing_works_the_error_lists_every_credential_and_what_to_do() {
        let err = Setup::new()
            .chain(None)
            .unwrap()
            .get_token(&request())
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(err.unavailable);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "DefaultAzureCredential: no Azure credential could get a token. Tried, in order:"
        );
        assert!(
            lines[1].starts_with("  - EnvironmentCredential (unavailable): not configured"),
            "{text}"
        );
        assert!(
            lines[2].starts_with("  - WorkloadIdentityCredential (unavailable): not configured"),
            "{text}"
        );
        assert!(lines[3].starts_with("  - ManagedIdentityCredential (unavailable): no managed identity endpoint at http://127.0.0.1:"), "{text}");
        assert!(
            lines[4].starts_with(
                "  - AzureCliCredential (unavailable): the Azure CLI (az) is not on PATH"
            ),
            "{text}"
        );
        for hint in [
            "AZURE_CLIENT_SECRET",
            "IDENTITY_ENDPOINT and IDENTITY_HEADER",
            "run `az login`",
            "--azure-credential NAME",
        ] {
            assert!(lines[5].contains(hint), "{hint} in {text}");
        }
    }

    #[tokio::test]
    async fn a_configured_credential_that_fails_stops_the_chain() {
        let entra = TestServer::start(vec![Reply::json(401, r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret"}"#)]).await;
        let msi = TestServer::start(vec![token_reply("never")]).await;
        let chain = app_service(service_principal(Setup::new(), &entra.url), &msi)
            .chain(None)
            .unwrap();
        let err = chain.get_token(&request()).await.unwrap_err();
        assert!(!err.unavailable);
        let text = err.to_string();
        assert!(
            text.contains(
                "EnvironmentCredential is configured but failed, so the chain stopped there"
            ),
            "{text}"
        );
        assert!(text.contains("AADSTS7000215"), "{text}");
        assert!(text.contains("Not tried: WorkloadIdentityCredential, ManagedIdentityCredential, AzureCliCredential."), "{text}");
        assert!(!text.contains("s1"), "the secret is not quoted: {text}");
        assert!(msi.requests().is_empty());
    }

    #[tokio::test]
    async fn azure_token_credentials_narrows_the_chain_case_insensitively() {
        let entra = TestServer::start(vec![token_reply("never")]).await;
        let msi = TestServer::start(vec![token_reply("from-managed-identity")]).await;
        let setup = app_service(service_principal(Setup::new(), &entra.url), &msi)
            .set("AZURE_TOKEN_CREDENTIALS", "managedidentitycredential");
        let chain = setup.chain(None).unwrap();
        assert_eq!(chain.names(), ["ManagedIdentityCredential"]);
        assert_eq!(token(&chain).await, "from-managed-identity");
        assert!(entra.requests().is_empty());

        let dev = Setup::new()
            .with_az("from-cli")
            .set("AZURE_TOKEN_CREDENTIALS", "dev");
        assert_eq!(dev.chain(None).unwrap().names(), ["AzureCliCredential"]);
        let prod_setup = Setup::new()
            .with_az("from-cli")
            .set("AZURE_TOKEN_CREDENTIALS", "PROD");
        let prod = prod_setup.chain(None).unwrap();
        assert_eq!(
            prod.names(),
            [
                "EnvironmentCredential",
                "WorkloadIdentityCredential",
                "ManagedIdentityCredential"
            ]
        );
        let err = prod.get_token(&request()).await.unwrap_err();
        assert!(
            !err.message.contains("AzureCliCredential"),
            "prod never runs az: {err}"
        );
        let cli = Setup::new()
            .with_az("from-cli")
            .set("AZURE_TOKEN_CREDENTIALS", "AzureCLICredential");
        assert_eq!(token(&cli.chain(None).unwrap()).await, "from-cli");
    }

    #[tokio::test]
    async fn an_explicit_selection_overrides_the_environment() {
        let entra = TestServer::start(vec![token_reply("from-environment")]).await;
        let setup =
            service_principal(Setup::new(), &entra.url).set("AZURE_TOKEN_CREDENTIALS", "dev");
        let chain = setup.chain(Some("EnvironmentCredential")).unwrap();
        assert_eq!(chain.names(), ["EnvironmentCredential"]);
        assert_eq!(token(&chain).await, "from-environment");
    }

    #[test]
    fn the_process_environment_is_an_env_lookup() {
        // Construction does no I/O, so this reads the real environment safely.
        let chain = DefaultChain::from_env(
            &crate::keysource::azure_kv::credential::process_env,
            Some("AzureCliCredential"),
            reqwest::Client::new(),
        )
        .unwrap();
        assert_eq!(chain.names(), ["AzureCliCredential"]);
    }

    #[test]
    fn bad_selections_use_the_go_sdk_wording() {
        let err = Setup::new()
            .set("AZURE_TOKEN_CREDENTIALS", "bogus")
            .chain(None)
            .unwrap_err();
        assert!(
            err.message.starts_with(
                "invalid AZURE_TOKEN_CREDENTIALS value \"bogus\". Valid values are \"dev\", \"prod\", or the \
                 name of any credential type in the default chain"
            ),
            "{err}"
        );
        let err = Setup::new().chain(Some("nope")).unwrap_err();
        assert!(
            err.message
                .starts_with("invalid --azure-credential value \"nope\""),
            "{err}"
        );
        let err = Setup::new()
            .chain(Some("AzurePowerShellCredential"))
            .unwrap_err();
        assert!(err.message.contains("not implemented"), "{err}");
    }

    #[tokio::test]
    async fn the_chain_caches_its_token_and_sticks_to_the_credential_that_worked() {
        let msi = TestServer::start(vec![token_reply("mi-1"), token_reply("mi-2")]).await;
        let chain = app_service(Setup::new(), &msi).chain(None).unwrap();
        assert_eq!(token(&chain).await, "mi-1");
        assert_eq!(token(&chain).await, "mi-1");
        assert_eq!(
            msi.requests().len(),
            1,
            "the second token came from the cache"
        );
        chain.invalidate(&request());
        assert_eq!(token(&chain).await, "mi-2");
        assert_eq!(msi.requests().len(), 2, "a rejected token is fetched anew");
    }

    #[tokio::test]
    async fn an_explicitly_selected_managed_identity_waits_longer_than_the_probe() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let answer = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 2048];
            let _ = stream.read(&mut buf).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
            let body = r#"{"access_token":"slow-imds","expires_on":"1900000000"}"#;
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(reply.as_bytes()).await.unwrap();
        });
        let chain = Setup::new()
            .set("IMDS_ENDPOINT", &url)
            .chain(Some("ManagedIdentityCredential"))
            .unwrap();
        assert_eq!(token(&chain).await, "slow-imds");
        answer.await.unwrap();
    }
}
