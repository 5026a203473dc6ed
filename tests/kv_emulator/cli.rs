//! Command-line arguments.

use std::path::PathBuf;

/// `--help` text.
pub const USAGE: &str = "\
kv-emulator: a loopback Azure Key Vault (keys API) for tests, with its own token endpoints.

Usage: kv-emulator [OPTIONS]

Options:
  --state FILE       keep keys in FILE (JSON, private keys as PEM) so they survive restarts;
                     default: in memory only
  --dir DIR          where to write ca.pem (the CA of the vault's certificate); default: a
                     temporary directory removed on exit
  --create NAME      create an RSA-2048 key NAME at startup unless it exists (repeatable)
  --resource URL     the challenge's resource= (token audience); default https://0.0.1:<vault
                     port>, which Go's and Python's challenge checks accept for 127.0.0.1:<port>
  --vault-port N     HTTPS port of the vault and the Entra authority (default: ephemeral)
  --token-port N     HTTP port of the token endpoints and the admin API (default: ephemeral)
  --ignore-stdin     keep running at end of input (default: exit when stdin closes, so a test
                     that spawned the emulator and died also stops it)
  -h, --help         this text

When ready it prints one JSON line on stdout:
  {\"vault\",\"token_endpoint\",\"msi_endpoint\",\"identity_header\",\"imds_endpoint\",\"authority\",
   \"admin\",\"ca\"}
It exits at end of stdin (unless --ignore-stdin), on SIGTERM and on SIGINT.

Admin API (JSON over plain HTTP, under <admin>):
  POST keys {name, size?} | rotate {name} | version {name, version, enabled}
  POST export {name, version?} -> {version, pem}     (test-only private key export)
  POST fault {op|\"*\", status?, count?, retry_after?, delay_ms?, drop_connection?}
  POST deny {identity?, key?, op, model: policy|rbac} | challenge {resource?, tenant?, authority?}
  POST token_lifetime {seconds} | token {identity?, lifetime?} -> {access_token, expires_on}
  GET log | POST log/clear | POST reset
  GET counters -> {in_flight, max_in_flight, ops: {\"<op> <key>\": n}, unauthorized} | POST counters/clear
  e.g. curl -d '{\"name\":\"k\"}' <admin>/keys

Real sops against it: SSL_CERT_FILE=<ca> IDENTITY_ENDPOINT=<msi_endpoint>
IDENTITY_HEADER=<identity_header> AZURE_TOKEN_CREDENTIALS=ManagedIdentityCredential
sops encrypt --azure-kv <vault>/keys/<name> file.yaml
";

/// Parsed arguments.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Args {
    /// `--state FILE`.
    pub state: Option<PathBuf>,
    /// `--dir DIR`.
    pub dir: Option<PathBuf>,
    /// `--create NAME`, in order.
    pub create: Vec<String>,
    /// `--resource URL`.
    pub resource: Option<String>,
    /// `--vault-port N` (0 = ephemeral).
    pub vault_port: u16,
    /// `--token-port N` (0 = ephemeral).
    pub token_port: u16,
    /// `--ignore-stdin`.
    pub ignore_stdin: bool,
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Run the emulator.
    Run(Args),
    /// Print [`USAGE`].
    Help,
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut out = Args::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--state" => out.state = Some(value("--state")?.into()),
            "--dir" => out.dir = Some(value("--dir")?.into()),
            "--create" => out.create.push(value("--create")?),
            "--resource" => out.resource = Some(value("--resource")?),
            "--vault-port" => out.vault_port = port(&value("--vault-port")?)?,
            "--token-port" => out.token_port = port(&value("--token-port")?)?,
            "--ignore-stdin" => out.ignore_stdin = true,
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    Ok(Command::Run(out))
}

fn port(text: &str) -> Result<u16, String> {
    text.parse().map_err(|_| format!("not a port: {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Command, String> {
        parse(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_every_flag() {
        let got = args(&[
            "--state",
            "s.json",
            "--create",
            "a",
            "--create",
            "b",
            "--resource",
            "https://r",
            "--vault-port",
            "8443",
            "--ignore-stdin",
        ]);
        let want = Args {
            state: Some("s.json".into()),
            create: vec!["a".into(), "b".into()],
            resource: Some("https://r".into()),
            vault_port: 8443,
            ignore_stdin: true,
            ..Args::default()
        };
        assert_eq!(got, Ok(Command::Run(want)));
        assert_eq!(args(&["-h"]), Ok(Command::Help));
        assert!(args(&["--state"]).is_err());
        assert!(args(&["--vault-port", "x"]).is_err());
        assert!(args(&["--bogus"]).is_err());
    }
}
