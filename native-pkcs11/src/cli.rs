//! Command-line arguments, flag-compatible with sops 3.11.
//!
//! Every option is global: it may be given before or after the subcommand, and with the
//! legacy action flags (`-e`, `-d`, `-r`) as well as with the subcommands.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// How many files `decrypt --output-dir` decrypts at once by default (their key-source
/// requests overlap).
pub const DEFAULT_JOBS: usize = 8;

/// leafcrypt: encrypt values in YAML, JSON, dotenv, INI and binary files, SOPS-compatible.
#[derive(Debug, Parser)]
#[command(name = "leafcrypt", about, long_about = None, disable_version_flag = true)]
// A flag given twice takes its last value, as in sops (urfave/cli): clients put the user's
// arguments before their own.
#[command(args_override_self = true)]
pub struct Cli {
    /// The subcommand (`encrypt`, `decrypt`, `rotate`); without one the legacy flags apply.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Legacy action: encrypt the file and print the result.
    #[arg(short = 'e', long)]
    pub encrypt: bool,
    /// Legacy action: decrypt the file and print the result.
    #[arg(short = 'd', long, conflicts_with = "encrypt")]
    pub decrypt: bool,
    /// Legacy action: new data key, every value re-encrypted with it.
    #[arg(short = 'r', long, conflicts_with_all = ["encrypt", "decrypt"])]
    pub rotate: bool,
    /// Legacy action (sops's `--set`): set one value in the file, in place:
    /// `--set '["a"][0] {"json":true}' FILE`.
    #[arg(long = "set", value_name = "PATH VALUE", conflicts_with_all = ["encrypt", "decrypt", "rotate"])]
    pub set: Option<String>,
    /// Print the version: `sops 3.11.0 (leafcrypt X.Y.Z)`, the sops version leafcrypt is
    /// compatible with first, as tools parse it.
    #[arg(short = 'v', long)]
    pub version: bool,
    /// Accepted for sops compatibility: `--version` never asks GitHub for a newer release.
    /// (sops's `SOPS_DISABLE_VERSION_CHECK` is not read: there is nothing to disable.)
    #[arg(long, hide = true)]
    pub disable_version_check: bool,
    /// Accepted for sops compatibility: leafcrypt never checks for updates.
    #[arg(long, hide = true)]
    pub check_for_updates: bool,
    /// The file to operate on (stdin when omitted).
    pub file: Option<PathBuf>,
    /// Further positional arguments: ignored with sops's warning.
    #[arg(hide = true)]
    pub extra: Vec<PathBuf>,
    /// Options shared by every action.
    #[command(flatten)]
    pub opts: Opts,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Encrypt a file and print the result (stdin when no file is given).
    Encrypt(FileArg),
    /// Decrypt a file and print the result (stdin when no file is given); with
    /// --output-dir, several files at once.
    Decrypt(DecryptArgs),
    /// Generate a new data key and re-encrypt every value with it.
    Rotate(FileArg),
    /// Edit a file in $SOPS_EDITOR/$EDITOR; re-encrypted with the same data key on save
    /// (also the default when only a file is given).
    Edit(FileArg),
    /// Set one value (JSON) at a tree path, keeping the data key: `set FILE '["a"][0]' '"v"'`.
    Set(SetArgs),
    /// Remove the value at a tree path, keeping the data key: `unset FILE '["a"]'`.
    Unset(UnsetArgs),
    /// Bring files' key groups in line with their .sops.yaml rule (same data key).
    Updatekeys(UpdatekeysArgs),
    /// Run a command with the file's top-level values as environment variables.
    ExecEnv(ExecEnvArgs),
    /// Run a command with the decrypted file at a private path that replaces `{}`.
    ExecFile(ExecFileArgs),
    /// Print whether a file is encrypted, as JSON: `{"encrypted":true}`.
    Filestatus(FileArg),
    /// Add or delete key groups (the data key is re-split, values untouched).
    #[command(subcommand)]
    Groups(GroupsCommand),
    /// Print a shell completion script: bash, zsh, fish, elvish or powershell.
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Generate an age X25519 identity (like `age-keygen`); the recipient goes to stderr.
    AgeKeygen(KeygenArgs),
    /// PKCS#11 tokens: create a KEK, list tokens and usable keys.
    #[command(subcommand)]
    Pkcs11(Pkcs11Command),
    /// A loopback CORS proxy to Azure Key Vault for browser pages (the viewer): forwards
    /// key operations to the given vaults only, for the given origins only.
    KvProxy(KvProxyArgs),
    /// Azure Key Vault: files pinned to old key versions, text encryption.
    #[command(subcommand)]
    AzureKv(AzureKvCommand),
    /// Publish a file (or a directory with --recursive) to its `.sops.yaml` destination.
    Publish(PublishArgs),
    /// sops's `keyservice`: not available in leafcrypt yet (exits 1 saying so).
    Keyservice(Unavailable),
    /// Kubernetes: encrypted Secret manifests, the `.sops.yaml` preset for manifests.
    #[command(subcommand)]
    K8s(crate::k8s::args::K8sCommand),
    /// GitOps: what an Argo CD Config Management Plugin runs (`helm-template`).
    #[command(subcommand)]
    Gitops(crate::gitops::args::GitopsCommand),
    /// A drop-in for KSOPS, the kustomize generator: `ksops GENERATOR.yaml` (legacy exec
    /// plugin), a ResourceList on stdin (KRM exec function), `ksops install DIR`. Also
    /// what the binary does when invoked as `ksops`.
    Ksops(KsopsArgs),
    /// Git integration: a diff textconv and a merge driver for encrypted files, and
    /// `git setup` to register them.
    #[command(subcommand)]
    Git(GitCommand),
    /// Beyond sops: a data-key agent (like ssh-agent) that keeps recovered data keys in
    /// memory for a TTL; the CLI uses it when LEAFCRYPT_AGENT_SOCK is set. Runs in the
    /// foreground and prints `LEAFCRYPT_AGENT_SOCK=…; export LEAFCRYPT_AGENT_SOCK;`.
    Agent(AgentArgs),
    /// Beyond sops: without decrypting, which key entries each file has, which of them
    /// this environment can use, whether the file is decryptable here (exit 0 only then),
    /// the .sops.yaml rule that matches and what to do next.
    Doctor(DoctorArgs),
    /// Beyond sops: the .sops.yaml found for a file (and how), the creation rule that
    /// matches it (and why earlier ones did not) and the keys it yields.
    Explain(ExplainArgs),
}

/// Arguments of `ksops`: KSOPS's own command line, taken as it comes.
#[derive(Debug, Args)]
pub struct KsopsArgs {
    /// The generator file (legacy plugin), `install [--with-kustomize] DIR`, or nothing
    /// (KRM function: a ResourceList on stdin).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<std::ffi::OsString>,
}

/// `git` subcommands.
#[derive(Debug, Subcommand)]
pub enum GitCommand {
    /// Register the textconv and merge driver: `.gitattributes` lines for the encrypted
    /// files (from .sops.yaml's path_regex, or --pattern) and git config entries
    /// `diff.leafcrypt.textconv`, `merge.leafcrypt.driver`/`name`; `--undo` removes them.
    Setup(GitSetupArgs),
    /// Print a file for `git diff`: decrypted when a key is available (MAC checked),
    /// else its structure with each encrypted value as a fingerprint; then its keys.
    Textconv {
        /// The file (git passes a temporary copy that keeps the name's extension).
        file: PathBuf,
    },
    /// Git merge driver: `merge-driver %O %A %B %P`. Decrypts the three versions, merges
    /// them key by key and re-encrypts the result into %A with ours' data key; conflicts
    /// exit 1 naming their key paths (ours left untouched), or with --markers become
    /// encrypted `<<<<<<< ours … >>>>>>> theirs` values.
    MergeDriver(MergeDriverArgs),
}

/// Arguments of `git setup`.
#[derive(Debug, Args)]
pub struct GitSetupArgs {
    /// Write to the global git config and global attributes file instead of the
    /// repository's.
    #[arg(long)]
    pub global: bool,
    /// Remove exactly what `git setup` added.
    #[arg(long)]
    pub undo: bool,
    /// A .gitattributes pattern of encrypted files (repeatable); replaces the patterns
    /// derived from .sops.yaml.
    #[arg(long = "pattern", value_name = "GLOB")]
    pub patterns: Vec<String>,
    /// Register the merge driver with --markers (conflicts written as encrypted markers).
    #[arg(long)]
    pub markers: bool,
}

/// Arguments of `git merge-driver`.
#[derive(Debug, Args)]
pub struct MergeDriverArgs {
    /// Write conflicts as encrypted marker values (exit 1) instead of leaving ours.
    #[arg(long)]
    pub markers: bool,
    /// %O: the common ancestor (empty when there is none).
    pub base: PathBuf,
    /// %A: ours; the result is written here.
    pub ours: PathBuf,
    /// %B: theirs.
    pub theirs: PathBuf,
    /// %P: the path in the repository (its extension gives the format).
    pub path: Option<String>,
}

/// Arguments of `agent`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("agent_control").multiple(false)))]
pub struct AgentArgs {
    /// The socket (its directory is created 0700, or must be yours and closed to others);
    /// default: a new directory under $XDG_RUNTIME_DIR or the temp dir. For the control
    /// flags: the agent to talk to (default LEAFCRYPT_AGENT_SOCK).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// How long a data key is kept: 500ms, 30s, 15m, 2h.
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = crate::agent::parse_ttl)]
    pub ttl: std::time::Duration,
    /// Forget every key and refuse new ones until --unlock.
    #[arg(long, group = "agent_control")]
    pub lock: bool,
    /// Accept keys again after --lock.
    #[arg(long, group = "agent_control")]
    pub unlock: bool,
    /// Forget every key.
    #[arg(long, group = "agent_control")]
    pub clear: bool,
    /// Forget every key and stop the agent.
    #[arg(long, group = "agent_control")]
    pub stop: bool,
    /// Print the agent's counters as JSON (entries, locked, ttl_ms, hits, misses, refused).
    #[arg(long, group = "agent_control")]
    pub status: bool,
}

/// Arguments of `doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Encrypted files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print one JSON document instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The file (it need not exist: rules match its path).
    pub file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The arguments of a sops subcommand leafcrypt does not provide: taken as they come, so
/// that the command is reported as unavailable instead of failing on its flags.
#[derive(Debug, Args)]
pub struct Unavailable {
    /// Whatever followed the subcommand.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub args: Vec<std::ffi::OsString>,
}

/// Arguments of `publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The encrypted file, or a directory with --recursive.
    pub file: Option<PathBuf>,
    /// Pre-approve all changes and run non-interactively.
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Omit file extensions in the destination path.
    #[arg(long)]
    pub omit_extensions: bool,
    /// If the source path is a directory, publish all its content recursively.
    #[arg(long)]
    pub recursive: bool,
}

/// `azure-kv` subcommands.
#[derive(Debug, Subcommand)]
pub enum AzureKvCommand {
    /// List the files' Key Vault entries pinned to a version that is not the key's current
    /// one (exit 1 when there are some): after Key Vault rotates a key, these files still
    /// decrypt but should be re-wrapped with `rotate`.
    Stale {
        /// Encrypted files.
        files: Vec<PathBuf>,
        /// Walk the given directories (honouring .gitignore) for encrypted files.
        #[arg(long)]
        recursive: bool,
    },
    /// Encrypt a text (FILE or stdin) under a Key Vault key; prints an `lckv1.…` string.
    EncryptText {
        /// The key, `https://VAULT/keys/NAME[/VERSION]`.
        #[arg(long)]
        key: String,
        /// The plaintext (stdin when omitted).
        file: Option<PathBuf>,
    },
    /// Decrypt an `lckv1.…` string (FILE or stdin) made for this Key Vault key.
    DecryptText {
        /// The key the text was encrypted for, `https://VAULT/keys/NAME[/VERSION]`.
        #[arg(long)]
        key: String,
        /// The ciphertext (stdin when omitted).
        file: Option<PathBuf>,
    },
    /// Follow Key Vault's key rotation: read Event Grid events (`KeyNewVersionCreated`,
    /// Event Grid schema or CloudEvents 1.0) from stdin or as a webhook, and re-wrap the
    /// files under PATHS whose Key Vault entries name that key with its new version (same
    /// data key, like `updatekeys`).
    OnRotation(OnRotationArgs),
}

/// Arguments of `azure-kv on-rotation`.
#[derive(Debug, Args)]
pub struct OnRotationArgs {
    /// Encrypted files, or directories of them.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Also look in the directories' subdirectories (honouring .gitignore, as --recursive
    /// elsewhere).
    #[arg(long)]
    pub recursive: bool,
    /// How many files are re-wrapped at once (Key Vault requests overlap).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_JOBS)]
    pub jobs: usize,
    /// Report what would be re-wrapped; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Read one delivery (an event or an array of events) from stdin.
    #[arg(long, conflicts_with = "listen", required_unless_present = "listen")]
    pub stdin: bool,
    /// Serve Event Grid as a webhook on this address (`127.0.0.1:PORT`; port 0: any free
    /// port, printed on stdout as `http://ADDR`).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// Listen on an address that is not loopback (behind your TLS reverse proxy).
    #[arg(long, requires = "listen")]
    pub allow_remote: bool,
    /// The environment variable holding the webhook's shared secret (sent by Event Grid as
    /// `?code=` in the endpoint URL or as the `X-Leafcrypt-Secret` header).
    #[arg(
        long,
        value_name = "VAR",
        requires = "listen",
        conflicts_with = "secret_file"
    )]
    pub secret_env: Option<String>,
    /// A file holding the webhook's shared secret.
    #[arg(long, value_name = "FILE", requires = "listen")]
    pub secret_file: Option<PathBuf>,
}

/// Arguments of `kv-proxy`.
#[derive(Debug, Args)]
pub struct KvProxyArgs {
    /// A vault to forward to, `https://NAME.vault.azure.net` (repeatable).
    #[arg(long = "vault", value_name = "URL", required = true)]
    pub vaults: Vec<String>,
    /// A browser origin allowed to call the proxy, e.g. `http://127.0.0.1:8080` (repeatable).
    #[arg(long = "allow-origin", value_name = "ORIGIN", required = true)]
    pub allow_origins: Vec<String>,
    /// Port on 127.0.0.1 (0: a free port; the URL is printed on stdout).
    #[arg(long, default_value_t = 8091)]
    pub port: u16,
    /// Exit when stdin reaches end of file (for supervisors and tests).
    #[arg(long)]
    pub exit_with_stdin: bool,
}

/// `pkcs11` subcommands.
#[derive(Debug, Subcommand)]
pub enum Pkcs11Command {
    /// Create a non-extractable KEK on a token: `keygen 'pkcs11:token=T;object=kek-2026' --type aes`.
    /// Prints the URI that names it.
    Keygen {
        /// The key's URI: token attributes, `object=` (the new label), optionally `id=`,
        /// `module-path`, `pin-source`.
        uri: String,
        /// aes (AES-256, AES-GCM) or rsa (RSA key pair, RSA-OAEP).
        #[arg(long = "type", value_name = "TYPE", default_value = "aes")]
        kind: String,
        /// RSA modulus size in bits.
        #[arg(long, default_value_t = 3072)]
        bits: u32,
    },
    /// List the tokens of a module and the keys leafcrypt can use (private ones only with
    /// LEAFCRYPT_PKCS11_PIN set).
    List {
        /// The module (default: LEAFCRYPT_PKCS11_MODULE, else SoftHSM2's).
        module: Option<String>,
    },
}

/// Arguments of `decrypt`.
#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// The files (stdin when none). Several files need --output-dir.
    pub files: Vec<PathBuf>,
    /// Beyond sops: decrypt every FILE into this directory (same file names, mode 0600),
    /// reporting all failures at the end.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// With --output-dir: how many files to decrypt at once (key-source requests overlap).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_JOBS)]
    pub jobs: usize,
    /// Beyond sops: walk the given directories (honouring .gitignore) into --output-dir,
    /// mirroring the tree.
    #[arg(long, requires = "output_dir")]
    pub recursive: bool,
    /// With --recursive: list the files that would be written, write nothing.
    #[arg(long, requires = "recursive")]
    pub dry_run: bool,
}

/// `groups` subcommands.
#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// Add a key group holding the given keys.
    Add {
        /// The encrypted file.
        #[arg(short = 'f', long)]
        file: PathBuf,
    },
    /// Delete the key group at INDEX (0-based).
    #[command(alias = "remove")]
    Delete {
        /// The encrypted file.
        #[arg(short = 'f', long)]
        file: PathBuf,
        /// Index of the group to delete.
        index: Option<usize>,
    },
}

/// Arguments of `set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// The encrypted file (changed in place).
    pub file: Option<PathBuf>,
    /// Where to set, e.g. '["somekey"][0]'.
    pub path: Option<String>,
    /// The value as JSON (a file name with --value-file; omitted with --value-stdin).
    pub value: Option<String>,
    /// Treat VALUE as a file to read the JSON value from (keeps secrets out of process lists).
    #[arg(long)]
    pub value_file: bool,
    /// Read the JSON value from stdin.
    #[arg(long)]
    pub value_stdin: bool,
    /// Leave the file untouched when the value is already there.
    #[arg(long)]
    pub idempotent: bool,
}

/// Arguments of `unset`.
#[derive(Debug, Args)]
pub struct UnsetArgs {
    /// The encrypted file (changed in place).
    pub file: Option<PathBuf>,
    /// What to remove, e.g. '["somekey"][0]'.
    pub path: Option<String>,
    /// Succeed without change when the path does not exist.
    #[arg(long)]
    pub idempotent: bool,
}

/// Arguments of `updatekeys`.
#[derive(Debug, Args)]
pub struct UpdatekeysArgs {
    /// The encrypted files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Apply the changes without asking.
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Beyond sops: directories walked, only files a creation rule matches.
    #[command(flatten)]
    pub bulk: BulkArgs,
}

/// Arguments of `exec-env`.
#[derive(Debug, Args)]
pub struct ExecEnvArgs {
    /// The encrypted file.
    pub file: Option<PathBuf>,
    /// The command, run with `sh -c`.
    pub command: Option<String>,
    /// More positional arguments: refused, as sops refuses them.
    #[arg(hide = true)]
    pub extra: Vec<String>,
    /// Pass only the secrets, not the current environment.
    #[arg(long)]
    pub pristine: bool,
    /// Replace leafcrypt's process with the command instead of starting a child.
    #[arg(long)]
    pub same_process: bool,
}

/// Arguments of `exec-file`.
#[derive(Debug, Args)]
pub struct ExecFileArgs {
    /// The encrypted file.
    pub file: Option<PathBuf>,
    /// The command, run with `sh -c`; `{}` is replaced by the plaintext's path.
    pub command: Option<String>,
    /// More positional arguments: refused, as sops refuses them.
    #[arg(hide = true)]
    pub extra: Vec<String>,
    /// Use a private regular file (0600, removed afterwards) instead of a FIFO.
    #[arg(long)]
    pub no_fifo: bool,
    /// Name of the temporary file.
    #[arg(long, default_value = "tmp-file")]
    pub filename: String,
}

/// Arguments of `age-keygen` (the identity goes to `--output FILE`, else stdout).
#[derive(Debug, Args)]
pub struct KeygenArgs {}

/// The file argument of a subcommand.
#[derive(Debug, Args)]
pub struct FileArg {
    /// The file to operate on (stdin when omitted).
    pub file: Option<PathBuf>,
    /// Further positional arguments: ignored with sops's warning.
    #[arg(hide = true)]
    pub extra: Vec<PathBuf>,
    /// Beyond sops (`encrypt`, `rotate`, `filestatus`): every FILE and directory walked.
    #[command(flatten)]
    pub bulk: BulkArgs,
}

/// Beyond sops: `--recursive` and its companions (see README "Many files at once").
#[derive(Debug, Args, Default, Clone)]
pub struct BulkArgs {
    /// Walk the given directories (honouring .gitignore); files are changed in place.
    #[arg(long)]
    pub recursive: bool,
    /// With --recursive: list the files that would change, change nothing.
    #[arg(long, requires = "recursive")]
    pub dry_run: bool,
    /// With --recursive: how many files are processed at once (key-source requests overlap).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_JOBS)]
    pub jobs: usize,
}

/// Options shared by every action.
#[derive(Debug, Args, Default)]
pub struct Opts {
    /// Write the output back to the input file (atomically, keeping its mode).
    #[arg(short = 'i', long, global = true)]
    pub in_place: bool,
    /// Write the output to this file (atomically) instead of stdout.
    #[arg(
        short = 'o',
        long,
        global = true,
        value_name = "FILE",
        conflicts_with = "in_place"
    )]
    pub output: Option<PathBuf>,
    /// Input format: yaml, json, dotenv, ini or binary (default: from the file extension);
    /// also toml (`.toml`), a leafcrypt extension: sops cannot read TOML files.
    #[arg(long, global = true, value_name = "TYPE")]
    pub input_type: Option<String>,
    /// Output format (default: the input format); toml is a leafcrypt extension that sops
    /// cannot read.
    #[arg(long, global = true, value_name = "TYPE")]
    pub output_type: Option<String>,
    /// Spaces of indentation for YAML or JSON output (0: the format's default).
    #[arg(long, global = true, value_name = "N")]
    pub indent: Option<usize>,
    /// Decrypt only this value, e.g. '["somekey"][0]'.
    #[arg(long, global = true, value_name = "PATH")]
    pub extract: Option<String>,
    /// Do not verify the MAC when decrypting.
    #[arg(long, global = true)]
    pub ignore_mac: bool,
    /// Beyond sops: also reject tamperings sops lets through (changed type tags, recipients,
    /// corrupted encrypted comments).
    #[arg(long, global = true, conflicts_with = "ignore_mac")]
    pub strict: bool,
    /// Age recipients to encrypt to (comma-separated; may be repeated).
    #[arg(
        short = 'a',
        long,
        global = true,
        env = "SOPS_AGE_RECIPIENTS",
        value_name = "RECIPIENTS"
    )]
    pub age: Vec<String>,
    /// Rotate: add these comma-separated age recipients (to the first key group).
    #[arg(long, global = true, value_name = "RECIPIENTS")]
    pub add_age: Option<String>,
    /// Rotate: remove these comma-separated age recipients.
    #[arg(long, global = true, value_name = "RECIPIENTS")]
    pub rm_age: Option<String>,
    /// PGP fingerprints to encrypt to, through gpg (comma-separated; may be repeated).
    #[arg(
        short = 'p',
        long,
        global = true,
        env = "SOPS_PGP_FP",
        value_name = "FINGERPRINTS"
    )]
    pub pgp: Vec<String>,
    /// Rotate: add these comma-separated PGP fingerprints (to the first key group).
    #[arg(long, global = true, value_name = "FINGERPRINTS")]
    pub add_pgp: Option<String>,
    /// Rotate: remove these comma-separated PGP fingerprints.
    #[arg(long, global = true, value_name = "FINGERPRINTS")]
    pub rm_pgp: Option<String>,
    /// PKCS#11 KEKs to encrypt to (RFC 7512 URIs, comma-separated; may be repeated). On
    /// decrypt, their `module-path`/`pin-source` apply to the file's matching keys.
    #[arg(long, global = true, value_name = "URIS")]
    pub pkcs11: Vec<String>,
    /// Rotate: add these comma-separated PKCS#11 URIs (to the first key group).
    #[arg(long, global = true, value_name = "URIS")]
    pub add_pkcs11: Option<String>,
    /// Rotate: remove these comma-separated PKCS#11 URIs.
    #[arg(long, global = true, value_name = "URIS")]
    pub rm_pkcs11: Option<String>,
    /// Azure Key Vault keys to encrypt to: `https://VAULT/keys/NAME[/VERSION]`
    /// (comma-separated; may be repeated). Without a version the current one is pinned.
    #[arg(
        long,
        global = true,
        env = "SOPS_AZURE_KEYVAULT_URLS",
        value_name = "URLS"
    )]
    pub azure_kv: Vec<String>,
    /// Rotate: add these comma-separated Azure Key Vault key URLs (to the first key group).
    #[arg(long, global = true, value_name = "URLS")]
    pub add_azure_kv: Option<String>,
    /// Rotate: remove these comma-separated Azure Key Vault key URLs.
    #[arg(long, global = true, value_name = "URLS")]
    pub rm_azure_kv: Option<String>,
    /// Use only this Azure credential instead of the default chain: EnvironmentCredential,
    /// WorkloadIdentityCredential, ManagedIdentityCredential or AzureCliCredential.
    #[arg(long, global = true, value_name = "NAME")]
    pub azure_credential: Option<String>,
    /// Wrap data keys with Key Vault's `encrypt` operation instead of locally with the
    /// key's cached public key (decryption always goes to Key Vault).
    #[arg(long, global = true)]
    pub azure_kv_remote_encrypt: bool,
    /// Do not check that Key Vault's auth challenge names a resource matching the vault
    /// host (private endpoints or proxies under another name). Tokens may then be sent to
    /// a host that is not Key Vault: use only with hosts you trust.
    #[arg(long, global = true)]
    pub azure_kv_skip_resource_check: bool,
    /// Keys whose path has a component ending with this suffix stay plain.
    #[arg(long, global = true, value_name = "SUFFIX")]
    pub unencrypted_suffix: Option<String>,
    /// Only keys whose path has a component ending with this suffix are encrypted.
    #[arg(long, global = true, value_name = "SUFFIX")]
    pub encrypted_suffix: Option<String>,
    /// Keys matching this regex stay plain.
    #[arg(long, global = true, value_name = "REGEX")]
    pub unencrypted_regex: Option<String>,
    /// Only keys matching this regex are encrypted.
    #[arg(long, global = true, value_name = "REGEX")]
    pub encrypted_regex: Option<String>,
    /// Entries after a comment matching this regex stay plain.
    #[arg(long, global = true, value_name = "REGEX")]
    pub unencrypted_comment_regex: Option<String>,
    /// Only entries after a comment matching this regex are encrypted.
    #[arg(long, global = true, value_name = "REGEX")]
    pub encrypted_comment_regex: Option<String>,
    /// Cover only the encrypted values with the MAC.
    #[arg(long, global = true)]
    pub mac_only_encrypted: bool,
    /// Number of key groups needed to recover the data key.
    #[arg(long, global = true, value_name = "N")]
    pub shamir_secret_sharing_threshold: Option<usize>,
    /// Path of the .sops.yaml to use (default: searched from the working directory up).
    #[arg(long, global = true, env = "SOPS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Beyond sops: search .sops.yaml upward from the file's directory instead of the
    /// working directory (also LEAFCRYPT_CONFIG_FROM_FILE=1).
    #[arg(
        long,
        global = true,
        env = "LEAFCRYPT_CONFIG_FROM_FILE",
        action = clap::ArgAction::SetTrue,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub config_from_file: bool,
    /// Beyond sops: also print on stderr the .sops.yaml found for the file, how, and the
    /// creation rule that matches and why (what `explain FILE` prints).
    #[arg(long, global = true)]
    pub explain: bool,
    /// Use this name instead of the file's for config rules and format detection.
    #[arg(long, global = true, value_name = "NAME")]
    pub filename_override: Option<PathBuf>,
    /// Print diagnostics (never secret material) to stderr.
    #[arg(long, global = true)]
    pub verbose: bool,
    /// Key kinds in the order they are tried within a key group, comma-separated
    /// (default `age,pgp`, then the others in stored order), e.g. `pkcs11,age`.
    #[arg(
        long,
        global = true,
        env = "SOPS_DECRYPTION_ORDER",
        value_name = "KINDS"
    )]
    pub decryption_order: Option<String>,
    /// Accepted for sops compatibility: leafcrypt's key sources always run in-process (as
    /// sops's local key service). `=false` is refused, since no other key service exists.
    #[arg(
        long,
        global = true,
        hide = true,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub enable_local_keyservice: Option<String>,
    /// sops's remote key services: not available in leafcrypt (ignored with a warning; the
    /// local key sources are used, as sops falls back to them).
    #[arg(
        long,
        global = true,
        hide = true,
        env = "SOPS_KEYSERVICE",
        value_name = "URL"
    )]
    pub keyservice: Vec<String>,
    /// sops's key kinds without a key source in leafcrypt: accepted as flags so that
    /// encrypting with them fails saying so (decrypting ignores them, as sops does).
    #[command(flatten)]
    pub other_kinds: OtherKinds,
}

/// sops 3.11's flags for AWS KMS, GCP KMS, HuaweiCloud KMS and HashiCorp Vault transit
/// keys (comma-separated lists, as in sops), and their companions.
#[derive(Debug, Args, Default)]
pub struct OtherKinds {
    /// AWS KMS key ARNs (`ARN[+ROLE_ARN]`, comma-separated).
    #[arg(
        short = 'k',
        long,
        global = true,
        env = "SOPS_KMS_ARN",
        value_name = "ARNS"
    )]
    pub kms: Option<String>,
    /// GCP KMS resource IDs (comma-separated
    /// `projects/P/locations/L/keyRings/R/cryptoKeys/K`).
    #[arg(long, global = true, env = "SOPS_GCP_KMS_IDS", value_name = "IDS")]
    pub gcp_kms: Option<String>,
    /// HuaweiCloud KMS key IDs (`region:key-uuid`).
    #[arg(long, global = true, hide = true, value_name = "IDS")]
    pub hckms: Option<String>,
    /// HashiCorp Vault transit keys to encrypt to:
    /// `https://VAULT:8200/v1/ENGINE/keys/NAME` (comma-separated).
    #[arg(long, global = true, value_name = "URIS", env = "SOPS_VAULT_URIS")]
    pub hc_vault_transit: Option<String>,
    /// Rotate: add AWS KMS ARNs (to the first key group).
    #[arg(long, global = true, value_name = "ARNS")]
    pub add_kms: Option<String>,
    /// Rotate: remove AWS KMS ARNs.
    #[arg(long, global = true, value_name = "ARNS")]
    pub rm_kms: Option<String>,
    /// Rotate: add GCP KMS resource IDs.
    #[arg(long, global = true, value_name = "IDS")]
    pub add_gcp_kms: Option<String>,
    /// Rotate: remove GCP KMS resource IDs.
    #[arg(long, global = true, value_name = "IDS")]
    pub rm_gcp_kms: Option<String>,
    /// Rotate: add HuaweiCloud KMS key IDs.
    #[arg(long, global = true, hide = true, value_name = "IDS")]
    pub add_hckms: Option<String>,
    /// Rotate: remove HuaweiCloud KMS key IDs.
    #[arg(long, global = true, hide = true, value_name = "IDS")]
    pub rm_hckms: Option<String>,
    /// Rotate: add HashiCorp Vault transit key URIs.
    #[arg(long, global = true, value_name = "URIS")]
    pub add_hc_vault_transit: Option<String>,
    /// Rotate: remove HashiCorp Vault transit key URIs.
    #[arg(long, global = true, value_name = "URIS")]
    pub rm_hc_vault_transit: Option<String>,
    /// AWS profile of the shared config files for the `--kms` keys.
    #[arg(long, global = true, value_name = "PROFILE")]
    pub aws_profile: Option<String>,
    /// KMS encryption context `key:value,…` for the `--kms` keys.
    #[arg(long, global = true, value_name = "CONTEXT")]
    pub encryption_context: Option<String>,
    /// sops's edit option to show the master keys in the editor (not supported: ignored).
    #[arg(short = 's', long, global = true, hide = true)]
    pub show_master_keys: bool,
}

/// What the invocation asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Encrypt a plaintext file.
    Encrypt,
    /// Decrypt an encrypted file.
    Decrypt,
    /// Rotate the data key.
    Rotate,
    /// Edit in the user's editor.
    Edit,
}

impl Cli {
    /// Applies sops's rule for repeated `--age`/`--azure-kv`/`--pgp`: they are plain string flags
    /// in sops, so the last one wins (only `groups add` accumulates them, as sops's
    /// string-slice flags there do). `--pkcs11`, which sops lacks, keeps accumulating.
    pub fn last_values_win(&mut self) {
        if matches!(
            self.command,
            Some(Command::Groups(GroupsCommand::Add { .. }))
        ) {
            return;
        }
        for list in [
            &mut self.opts.age,
            &mut self.opts.azure_kv,
            &mut self.opts.pgp,
        ] {
            if list.len() > 1 {
                list.drain(..list.len() - 1);
            }
        }
    }

    /// Positional arguments after the file that sops ignores (it warns about them).
    pub fn ignored_positionals(&self) -> &[PathBuf] {
        match &self.command {
            None => &self.extra,
            // sops's filestatus ignores them silently.
            Some(Command::Encrypt(f) | Command::Rotate(f) | Command::Edit(f)) => &f.extra,
            Some(Command::Decrypt(d)) if d.output_dir.is_none() && !d.files.is_empty() => {
                &d.files[1..]
            }
            _ => &[],
        }
    }

    /// The action and the file, from the subcommand or the legacy flags.
    pub fn action(&self) -> Option<(Action, Option<PathBuf>)> {
        match &self.command {
            Some(Command::Encrypt(f)) => Some((Action::Encrypt, f.file.clone())),
            Some(Command::Decrypt(d)) if d.output_dir.is_none() => {
                Some((Action::Decrypt, d.files.first().cloned()))
            }
            Some(Command::Rotate(f)) => Some((Action::Rotate, f.file.clone())),
            Some(Command::Edit(f)) => Some((Action::Edit, f.file.clone())),
            Some(_) => None,
            None if self.encrypt => Some((Action::Encrypt, self.file.clone())),
            None if self.decrypt => Some((Action::Decrypt, self.file.clone())),
            None if self.rotate => Some((Action::Rotate, self.file.clone())),
            None if self.file.is_some() => Some((Action::Edit, self.file.clone())),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn legacy_flags_subcommands_and_default_edit() {
        let cli = Cli::try_parse_from(["leafcrypt", "-d", "--ignore-mac", "f.yaml"]).unwrap();
        assert_eq!(
            cli.action(),
            Some((Action::Decrypt, Some(PathBuf::from("f.yaml"))))
        );
        assert!(cli.opts.ignore_mac);
        let cli = Cli::try_parse_from([
            "leafcrypt",
            "--config",
            "c.yaml",
            "encrypt",
            "--age",
            "a,b",
            "--age",
            "c",
            "f.json",
        ])
        .unwrap();
        assert_eq!(
            cli.action(),
            Some((Action::Encrypt, Some(PathBuf::from("f.json"))))
        );
        assert_eq!(cli.opts.age, ["a,b", "c"]);
        let mut cli = cli;
        cli.last_values_win();
        assert_eq!(cli.opts.age, ["c"]);
        assert_eq!(cli.opts.config, Some(PathBuf::from("c.yaml")));
        let cli = Cli::try_parse_from(["leafcrypt", "f.yaml"]).unwrap();
        assert_eq!(
            cli.action(),
            Some((Action::Edit, Some(PathBuf::from("f.yaml"))))
        );
        assert!(Cli::try_parse_from(["leafcrypt", "-e", "-d", "f"]).is_err());
    }

    #[test]
    fn a_repeated_flag_takes_its_last_value() {
        let cli = Cli::try_parse_from([
            "leafcrypt",
            "-d",
            "--output-type",
            "json",
            "--output-type",
            "yaml",
            "-i",
            "-i",
            "f.yaml",
        ])
        .unwrap();
        assert_eq!(cli.opts.output_type.as_deref(), Some("yaml"));
        assert!(cli.opts.in_place);
        let mut cli = Cli::try_parse_from([
            "leafcrypt",
            "groups",
            "add",
            "-f",
            "f",
            "--age",
            "a",
            "--age",
            "b",
        ])
        .unwrap();
        cli.last_values_win();
        assert_eq!(cli.opts.age, ["a", "b"]);
    }
}
