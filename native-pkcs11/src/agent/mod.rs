//! Beyond sops: `leafcrypt agent`, a data-key agent like ssh-agent. It keeps data keys
//! recovered by the CLI in memory for a TTL so that repeated decryptions of the same file
//! need no key-source round trip; keyed by a digest of the file's wrapped-key entries
//! (a rotated or re-keyed file misses). Opt-in: the CLI asks it only when
//! `LEAFCRYPT_AGENT_SOCK` is set ([`client`]), and checks every cached key with the MAC.

pub mod cache;
pub mod client;
pub mod peer;
pub mod protocol;
pub mod server;

use crate::cli::AgentArgs;
use crate::failure::{CliResult, Failure};
use leafcrypt_core::ExitCode;
use protocol::{status, Request};
use std::time::Duration;

/// Runs `leafcrypt agent`: the agent itself, or one control request to a running one.
pub fn run(args: &AgentArgs) -> CliResult<()> {
    let control = [
        (args.lock, Request::Lock),
        (args.unlock, Request::Unlock),
        (args.clear, Request::Clear),
        (args.stop, Request::Stop),
        (args.status, Request::Status),
    ]
    .into_iter()
    .find_map(|(on, r)| on.then_some(r));
    let Some(request) = control else {
        let place = server::place(args.socket.as_deref())?;
        return server::serve(place, args.ttl);
    };
    let path = args
        .socket
        .clone()
        .or_else(|| {
            std::env::var_os(client::SOCK_VAR)
                .filter(|p| !p.is_empty())
                .map(Into::into)
        })
        .ok_or_else(|| {
            Failure::new(
                ExitCode::ErrorGeneric,
                format!("no agent: set {} (or give --socket PATH)", client::SOCK_VAR),
            )
        })?;
    let (code, payload) = client::Agent::at(&path).call(&request).map_err(|e| {
        Failure::new(
            ExitCode::ErrorGeneric,
            format!("data-key agent {}: {e}", path.display()),
        )
    })?;
    if code != status::OK {
        return Err(Failure::new(
            ExitCode::ErrorGeneric,
            format!(
                "data-key agent {}: request refused (status {code})",
                path.display()
            ),
        ));
    }
    if matches!(request, Request::Status) {
        println!("{}", String::from_utf8_lossy(&payload));
    }
    Ok(())
}

/// Parses a TTL: `500ms`, `30s`, `15m`, `2h`, or plain seconds.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("'{text}': a duration such as 500ms, 30s, 15m or 2h"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => return Err(format!("'{text}': unknown unit '{unit}' (ms, s, m, h)")),
    };
    if d.is_zero() {
        return Err("the TTL must be more than zero".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls() {
        assert_eq!(parse_ttl("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_ttl("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_ttl("7"), Ok(Duration::from_secs(7)));
        assert!(parse_ttl("0s").is_err());
        assert!(parse_ttl("5d").is_err());
        assert!(parse_ttl("m").is_err());
    }
}
