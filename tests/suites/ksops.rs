//! `leafcrypt ksops`, the KSOPS drop-in, under the real tools (files encrypted by the real
//! sops 3.11 with age keys):
//! - the legacy exec plugin under `kubectl kustomize --enable-alpha-plugins` of EVERY
//!   `kubectl.1.27` … `kubectl.1.33` next to gcloud (kustomize v5.0 … v5.6), installed as
//!   `$XDG_CONFIG_HOME/kustomize/plugin/viaduct.ai/v1/ksops/ksops`, a symlink to leafcrypt:
//!   decrypted manifests equal `leafcrypt decrypt` (itself byte-equal to `sops decrypt`),
//!   `needs-hash` gives the suffixed name, `behavior: merge|replace` against a base, KSOPS
//!   README's `secretFrom` examples give the Secrets written by hand below, and a file that
//!   fails its MAC fails the build (exit ≠ 0, no Secret on stdout);
//! - the KRM exec function under `kpt fn eval --exec` and with a ResourceList captured
//!   from kpt piped in; its error contract (`results`, exit 1);
//! - KSOPS's rules outside kustomize: `a=b=c`, `KSOPS_CONCURRENCY_LIMIT`, dummy secrets,
//!   `fail-silently`, `install`, errors that name the file and never a value.
//!
//! kubectl and kpt are required: the tests fail (never skip) when they are missing.

use leafcrypt_core::stores::Format;
use leafcrypt_core::tree::{Map, Value};
use leafcrypt_tests::harness::{
    clean_env, key_file, leafcrypt_bin, recipient, run_command, Output, Tool, Workdir,
};
use leafcrypt_tests::workflow::LIMIT;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The Google Cloud SDK's bin directory (kubectl.1.NN and kpt live there).
fn gcloud_bin() -> PathBuf {
    let found = ["gcloud", "kubectl"].iter().find_map(|tool| {
        let out = Command::new("sh")
            .args(["-c", &format!("readlink -f \"$(command -v {tool})\"")])
            .output()
            .ok()?;
        let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (!path.is_empty()).then(|| PathBuf::from(path).parent().map(Path::to_path_buf))?
    });
    found.unwrap_or_else(|| {
        panic!("neither gcloud nor kubectl is on PATH: install the Google Cloud SDK's kubectl and google-cloud-cli-kpt (scripts/setup)")
    })
}

/// Every `kubectl.1.27` … `kubectl.1.33` next to gcloud; at least one must exist.
fn kubectls() -> Vec<PathBuf> {
    let bin = gcloud_bin();
    let found: Vec<PathBuf> = (27..=33)
        .map(|minor| bin.join(format!("kubectl.1.{minor}")))
        .filter(|p| p.is_file())
        .collect();
    assert!(
        !found.is_empty(),
        "no kubectl.1.27 … kubectl.1.33 in {}: install the kubectl package (scripts/setup)",
        bin.display()
    );
    found
}

/// kpt next to gcloud.
fn kpt() -> PathBuf {
    let path = gcloud_bin().join("kpt");
    assert!(
        path.is_file(),
        "{} is missing: install google-cloud-cli-kpt (scripts/setup)",
        path.display()
    );
    path
}

/// Runs `program` in `cwd` with a clean environment plus `env`, feeding `stdin`.
fn run(program: &Path, args: &[&str], cwd: &Path, env: &[(&str, &Path)], stdin: &[u8]) -> Output {
    let home = cwd.join(".home");
    let _ = std::fs::create_dir_all(&home);
    let mut command = Command::new(program);
    clean_env(&mut command, &home);
    command
        .args(args)
        .current_dir(cwd)
        .envs(env.iter().map(|(k, v)| (k, v)));
    let described = format!("{} {}", program.display(), args.join(" "));
    run_command(&mut command, stdin, described)
}

/// Encrypts `plain` with the real sops to recipient R1 into `dir/name` (`data`/`stringData`
/// only for manifests, as KSOPS's README configures sops).
fn encrypt(dir: &Workdir, name: &str, plain: &[u8]) {
    let source = format!("plain-{}", name.replace('/', "-"));
    let ext = name.rsplit('.').next().unwrap_or_default();
    let source = format!("{source}.{ext}");
    dir.write(&source, plain);
    let mut cmd = dir.cmd(Tool::Sops).args(["encrypt", "--age", recipient(1)]);
    if ext == "yaml" || ext == "json" {
        cmd = cmd.args(["--encrypted-regex", "^(data|stringData)$"]);
    }
    let out = cmd
        .args(["--filename-override", name, &source])
        .timeout(LIMIT)
        .run()
        .expect_ok(&format!("sops encrypting {name}"));
    std::fs::remove_file(dir.join(&source)).expect("remove the plaintext");
    let target = dir.join(name);
    std::fs::create_dir_all(target.parent().expect("a parent")).expect("mkdir");
    std::fs::write(&target, &out.stdout).expect("write");
}

/// Writes `text` to `dir/name`, creating the parent directories.
fn put(dir: &Workdir, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(&path, text).expect("write");
}

/// The YAML documents of `bytes`.
fn docs(bytes: &[u8]) -> Vec<Map> {
    Format::Yaml
        .store(None)
        .parse(bytes)
        .unwrap_or_else(|e| panic!("not YAML ({e}):\n{}", String::from_utf8_lossy(bytes)))
        .tree
        .branches
        .into_iter()
        .filter(|d| d.pairs().next().is_some())
        .collect()
}

/// A value as canonical text: map keys sorted, comments dropped.
fn canon(v: &Value) -> String {
    match v {
        Value::Map(m) => canon_map(m),
        Value::List(items) => format!(
            "[{}]",
            items
                .iter()
                .filter(|i| !matches!(i, Value::Comment(_)))
                .map(canon)
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => format!("{other:?}"),
    }
}

fn canon_map(m: &Map) -> String {
    let mut pairs: Vec<(&str, String)> = m.pairs().map(|(k, v)| (k, canon(v))).collect();
    pairs.sort();
    let inner: Vec<String> = pairs.iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
    format!("{{{}}}", inner.join(","))
}

fn get<'a>(m: &'a Map, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let v = m.get(first)?;
    if rest.is_empty() {
        Some(v)
    } else {
        get(v.as_map()?, rest)
    }
}

fn name_of(m: &Map) -> String {
    get(m, &["metadata", "name"])
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The document named `name` (exactly one).
fn named<'a>(all: &'a [Map], name: &str, context: &str) -> &'a Map {
    let found: Vec<&Map> = all.iter().filter(|d| name_of(d) == name).collect();
    assert_eq!(
        found.len(),
        1,
        "{context}: one object named {name:?} expected, got {}",
        found.len()
    );
    found[0]
}

/// A test directory with the plugin installed where kustomize looks for it.
struct Repo {
    dir: Workdir,
    xdg: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        let dir = Workdir::new();
        let xdg = dir.join("xdg");
        // kustomize looks plugins up by apiVersion: KSOPS's v1 and v2.
        for version in ["v1", "v2"] {
            let plugin_dir = xdg.join(format!("kustomize/plugin/viaduct.ai/{version}/ksops"));
            std::fs::create_dir_all(&plugin_dir).expect("plugin dir");
            std::os::unix::fs::symlink(leafcrypt_bin(), plugin_dir.join("ksops")).expect("symlink");
        }
        std::os::unix::fs::symlink(leafcrypt_bin(), dir.join("ksops")).expect("symlink");
        Repo { dir, xdg }
    }

    /// `kubectl kustomize --enable-alpha-plugins SUB` with this kubectl.
    fn kustomize(&self, kubectl: &Path, sub: &str) -> Output {
        let key = key_file(1);
        run(
            kubectl,
            &["kustomize", "--enable-alpha-plugins", sub],
            self.dir.path(),
            &[("XDG_CONFIG_HOME", &self.xdg), ("SOPS_AGE_KEY_FILE", &key)],
            b"",
        )
    }

    /// `leafcrypt decrypt FILE`, checked byte-equal to `sops decrypt FILE`.
    fn decrypted(&self, file: &str) -> Vec<u8> {
        let [sops, leaf] = Tool::BOTH.map(|tool| {
            self.dir
                .cmd(tool)
                .args(["decrypt", file])
                .identity(key_file(1))
                .timeout(LIMIT)
                .run()
                .expect_ok(&format!("{tool} decrypt {file}"))
                .stdout
        });
        assert_eq!(
            String::from_utf8_lossy(&leaf),
            String::from_utf8_lossy(&sops),
            "leafcrypt decrypt {file} differs from sops decrypt"
        );
        leaf
    }
}

const APP_SECRET: &str = "apiVersion: v1
kind: Secret
metadata:
  name: app-secret
  namespace: prod
  labels:
    app: web
type: Opaque
stringData:
  username: admin
  password: 'p@ss: w0rd #1'
  config.ini: |
    [db]
    host = db.internal
data:
  token: c2VjcmV0LXRva2Vu
";

const HASHED_SECRET: &str = "apiVersion: v1
kind: Secret
metadata:
  name: hashed
  annotations:
    kustomize.config.k8s.io/needs-hash: \"true\"
stringData:
  api-key: k-123
";

const CONFIGMAP_JSON: &str = r#"{
  "apiVersion": "v1",
  "kind": "ConfigMap",
  "metadata": {"name": "from-json"},
  "data": {"mode": "production", "level": "7"}
}
"#;

/// The fixtures of every legacy-plugin scenario.
fn legacy_fixtures(repo: &Repo) {
    let d = &repo.dir;
    // `files`: manifests as they are, YAML and JSON by extension, one with needs-hash.
    encrypt(d, "files/app.enc.yaml", APP_SECRET.as_bytes());
    encrypt(d, "files/hashed.enc.yaml", HASHED_SECRET.as_bytes());
    encrypt(d, "files/configmap.enc.json", CONFIGMAP_JSON.as_bytes());
    put(
        d,
        "files/kustomization.yaml",
        "generators:\n  - ./generator.yaml\n",
    );
    put(
        d,
        "files/generator.yaml",
        "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: files-generator\nfiles:\n  - ./app.enc.yaml\n  - ./hashed.enc.yaml\n  - configmap.enc.json\n",
    );
    // Behaviours against a base (KSOPS README's "Encrypted Secret Overlays").
    put(
        d,
        "base/kustomization.yaml",
        "resources:\n  - ./secret.yaml\n",
    );
    put(
        d,
        "base/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: argocd-secret\ntype: Opaque\ndata:\n  application: a3VzdG9taXplLXNvcHM=\n  admin.password: YmFzZS1wYXNzd29yZA==\n",
    );
    for behavior in ["merge", "replace"] {
        encrypt(
            d,
            &format!("{behavior}/secret.enc.yaml"),
            format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: argocd-secret\n  annotations:\n    kustomize.config.k8s.io/behavior: {behavior}\ntype: Opaque\ndata:\n  admin.password: b3ZlcmxheS1wYXNzd29yZA==\n  server.secretkey: b3ZlcmxheS1rZXk=\n").as_bytes(),
        );
        put(
            d,
            &format!("{behavior}/kustomization.yaml"),
            "resources:\n  - ../base\ngenerators:\n  - ./generator.yaml\n",
        );
        put(
            d,
            &format!("{behavior}/generator.yaml"),
            "apiVersion: viaduct.ai/v2\nkind: ksops\nmetadata:\n  name: overlay\nfiles:\n  - ./secret.enc.yaml\n",
        );
    }
    readme_fixtures(d);
    // A file whose MAC no longer matches: an unencrypted field changed after encryption.
    encrypt(d, "tampered/secret.enc.yaml", APP_SECRET.as_bytes());
    let text = String::from_utf8(d.read("tampered/secret.enc.yaml")).expect("utf-8");
    assert!(text.contains("name: app-secret"), "{text}");
    put(
        d,
        "tampered/secret.enc.yaml",
        &text.replacen("name: app-secret", "name: app-secreT", 1),
    );
    put(
        d,
        "tampered/kustomization.yaml",
        "generators:\n  - ./generator.yaml\n",
    );
    put(
        d,
        "tampered/generator.yaml",
        "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: tampered-generator\nfiles:\n  - ./secret.enc.yaml\n",
    );
}

/// The plaintexts of KSOPS README's `secretFrom` examples.
const CONF: &str = "user=admin\npassword=hunter2\n";
const SECRET_YAML: &str = "username: admin\npassword: 1f2d1e2e67df\n";
const BINARY: &[u8] = b"\x00\x01binary\xff\xfe\n";
const DOTENV: &str = "username=admin\npassword=1f2d1e2e67df\n";

/// The head of KSOPS README's generators, without its `config.kubernetes.io/function`
/// annotation: kubectl's kustomize silently skips a generator that has it (it runs KRM exec
/// functions only with `--enable-exec`, which it lacks), so the legacy plugin's
/// configuration must not carry it. [`krm_readme_examples`] runs them verbatim.
const README_HEAD: &str =
    "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: example-secret-generator\nsecretFrom:\n";

/// The same head as KSOPS's README writes it, for the KRM function.
const README_KRM_HEAD: &str = "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: example-secret-generator\n  annotations:\n    config.kubernetes.io/function: |\n        exec:\n          path: ksops\nsecretFrom:\n";

/// KSOPS README's three "Generate secret directly from encrypted files" examples, each in
/// its own kustomization (they share the Secret's name).
fn readme_fixtures(d: &Workdir) {
    let head = README_HEAD;
    let meta = "- metadata:\n    name: secret-name\n    labels:\n      app: foo\n    annotations:\n      kustomize.config.k8s.io/needs-hash: \"false\"\n  type: Opaque\n";
    encrypt(d, "readme-files/secret.enc.conf", CONF.as_bytes());
    encrypt(d, "readme-files/secret.enc.yaml", SECRET_YAML.as_bytes());
    put(
        d,
        "readme-files/secret-generator.yaml",
        &format!(
            "{head}{meta}  files:\n  - ./secret.enc.conf\n  - secret.yaml=./secret.enc.yaml\n"
        ),
    );
    encrypt(d, "readme-binary/secret.enc", BINARY);
    put(
        d,
        "readme-binary/secret-generator.yaml",
        &format!("{head}{meta}  binaryFiles:\n  - ./secret.enc\n  - secret=./secret.enc\n"),
    );
    encrypt(d, "readme-envs/secret.enc.env", DOTENV.as_bytes());
    put(
        d,
        "readme-envs/secret-generator.yaml",
        &format!("{head}- metadata:\n    name: secret-name\n  envs:\n  - ./secret.enc.env\n"),
    );
    for sub in ["readme-files", "readme-binary", "readme-envs"] {
        put(
            d,
            &format!("{sub}/kustomization.yaml"),
            "generators:\n  - ./secret-generator.yaml\n",
        );
    }
}

/// The Secrets KSOPS's README examples describe, written by hand (as kustomize prints
/// them: the `needs-hash: "false"` annotation consumed, the name kept).
fn readme_expected(sub: &str) -> String {
    match sub {
        "readme-files" => "apiVersion: v1
kind: Secret
metadata:
  labels:
    app: foo
  name: secret-name
stringData:
  secret.enc.conf: |
    user=admin
    password=hunter2
  secret.yaml: |
    username: admin
    password: 1f2d1e2e67df
type: Opaque
"
        .into(),
        // base64 of 00 01 "binary" ff fe 0a
        "readme-binary" => "apiVersion: v1
kind: Secret
metadata:
  labels:
    app: foo
  name: secret-name
data:
  secret.enc: AAFiaW5hcnn//go=
  secret: AAFiaW5hcnn//go=
type: Opaque
"
        .into(),
        "readme-envs" => "apiVersion: v1
kind: Secret
metadata:
  name: secret-name
stringData:
  password: 1f2d1e2e67df
  username: admin
"
        .into(),
        _ => unreachable!(),
    }
}

#[test]
fn legacy_plugin_under_every_kubectl_kustomize() {
    let repo = Repo::new();
    legacy_fixtures(&repo);
    let app = docs(&repo.decrypted("files/app.enc.yaml"));
    let hashed = docs(&repo.decrypted("files/hashed.enc.yaml"));
    let configmap = docs(&repo.decrypted("files/configmap.enc.json"));
    let mut hashed_names = Vec::new();
    for kubectl in kubectls() {
        let k = kubectl.file_name().unwrap().to_string_lossy().to_string();
        // files: each decrypted manifest equals `leafcrypt decrypt`.
        let out = repo
            .kustomize(&kubectl, "files")
            .expect_ok(&format!("{k} kustomize files"));
        let all = docs(&out.stdout);
        assert_eq!(all.len(), 3, "{k}: {}", out.stdout_text());
        assert_eq!(
            canon_map(named(&all, "app-secret", &k)),
            canon_map(&app[0]),
            "{k}: app-secret differs from leafcrypt decrypt"
        );
        assert_eq!(
            canon_map(named(&all, "from-json", &k)),
            canon_map(&configmap[0]),
            "{k}: the JSON ConfigMap differs from leafcrypt decrypt"
        );
        // needs-hash: the name gets kustomize's content-hash suffix, the annotation goes.
        let suffixed: Vec<&Map> = all
            .iter()
            .filter(|d| name_of(d).starts_with("hashed-"))
            .collect();
        assert_eq!(suffixed.len(), 1, "{k}: {}", out.stdout_text());
        let name = name_of(suffixed[0]);
        let suffix = &name["hashed-".len()..];
        assert!(
            suffix.len() == 10 && suffix.chars().all(|c| c.is_ascii_alphanumeric()),
            "{k}: {name}"
        );
        assert!(
            get(
                suffixed[0],
                &[
                    "metadata",
                    "annotations",
                    "kustomize.config.k8s.io/needs-hash"
                ]
            )
            .is_none(),
            "{k}: needs-hash kept"
        );
        assert_eq!(
            get(suffixed[0], &["stringData"]).map(canon),
            get(&hashed[0], &["stringData"]).map(canon),
            "{k}"
        );
        hashed_names.push(name);
        // behavior: merge keeps the base's other `data` keys; replace drops them.
        for (behavior, expected) in [
            (
                "merge",
                "application: a3VzdG9taXplLXNvcHM=\nadmin.password: b3ZlcmxheS1wYXNzd29yZA==\nserver.secretkey: b3ZlcmxheS1rZXk=\n",
            ),
            (
                "replace",
                "admin.password: b3ZlcmxheS1wYXNzd29yZA==\nserver.secretkey: b3ZlcmxheS1rZXk=\n",
            ),
        ] {
            let out = repo
                .kustomize(&kubectl, behavior)
                .expect_ok(&format!("{k} kustomize {behavior}"));
            let all = docs(&out.stdout);
            assert_eq!(all.len(), 1, "{k} {behavior}: {}", out.stdout_text());
            let secret = named(&all, "argocd-secret", behavior);
            assert_eq!(
                get(secret, &["data"]).map(canon),
                Some(canon_map(&docs(expected.as_bytes())[0])),
                "{k} {behavior}: {}",
                out.stdout_text()
            );
        }
        // KSOPS README's secretFrom examples.
        for sub in ["readme-files", "readme-binary", "readme-envs"] {
            let out = repo
                .kustomize(&kubectl, sub)
                .expect_ok(&format!("{k} kustomize {sub}"));
            let got: Vec<String> = docs(&out.stdout).iter().map(canon_map).collect();
            let want: Vec<String> = docs(readme_expected(sub).as_bytes())
                .iter()
                .map(canon_map)
                .collect();
            assert_eq!(
                got,
                want,
                "{k} {sub}: kustomize printed\n{}",
                out.stdout_text()
            );
        }
        // A file failing its MAC fails the build: no Secret, no value on stdout.
        let out = repo.kustomize(&kubectl, "tampered");
        assert_ne!(out.code, 0, "{k}: a tampered file must fail the build");
        let stdout = out.stdout_text();
        assert!(
            !stdout.contains("Secret") && !stdout.contains("admin"),
            "{k}: {stdout}"
        );
        let err = out.stderr_text();
        assert!(
            err.contains("MAC mismatch")
                && err.contains("./secret.enc.yaml")
                && err.contains("tampered-generator"),
            "{k}: the error must name the file and the generator: {err}"
        );
        assert!(
            !err.contains("admin") && !err.contains("p@ss"),
            "{k}: a value leaked: {err}"
        );
    }
    hashed_names.dedup();
    assert_eq!(
        hashed_names.len(),
        1,
        "the hash differs across kustomize versions: {hashed_names:?}"
    );
}

/// A kpt package holding only the generator, and the generator's files next to it.
fn krm_fixtures(repo: &Repo) {
    let d = &repo.dir;
    encrypt(d, "app.enc.yaml", APP_SECRET.as_bytes());
    encrypt(d, "secret.enc.env", DOTENV.as_bytes());
    put(
        d,
        "pkg/generator.yaml",
        "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: krm-generator\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: ksops\nfiles:\n  - ./app.enc.yaml\nsecretFrom:\n- metadata:\n    name: from-env\n  envs:\n  - ./secret.enc.env\n",
    );
    encrypt(d, "tampered.enc.yaml", APP_SECRET.as_bytes());
    let text = String::from_utf8(d.read("tampered.enc.yaml")).expect("utf-8");
    put(
        d,
        "tampered.enc.yaml",
        &text.replacen("name: app-secret", "name: app-secreT", 1),
    );
    put(
        d,
        "badpkg/generator.yaml",
        "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: bad-generator\nfiles:\n  - ./tampered.enc.yaml\n",
    );
}

/// The items of a ResourceList, without kpt's bookkeeping annotations.
fn items(list: &[u8]) -> Vec<Map> {
    let all = docs(list);
    assert_eq!(
        all.len(),
        1,
        "one ResourceList document expected:\n{}",
        String::from_utf8_lossy(list)
    );
    assert_eq!(
        get(&all[0], &["kind"]).and_then(Value::as_str),
        Some("ResourceList")
    );
    let Some(Value::List(items)) = all[0].get("items") else {
        panic!("no items:\n{}", String::from_utf8_lossy(list))
    };
    items
        .iter()
        .filter_map(Value::as_map)
        .map(|m| {
            let mut m = m.clone();
            if let Some(Value::Map(meta)) = m.get_mut("metadata") {
                if let Some(Value::Map(ann)) = meta.get_mut("annotations") {
                    ann.entries.retain(|e| {
                        !matches!(e, leafcrypt_core::tree::Entry::Pair(k, _) if k.contains("config.kubernetes.io/"))
                    });
                    if ann.pairs().next().is_none() {
                        meta.remove("annotations");
                    }
                }
            }
            m
        })
        .collect()
}

#[test]
fn krm_function_under_kpt_and_from_a_captured_resource_list() {
    let repo = Repo::new();
    krm_fixtures(&repo);
    let d = &repo.dir;
    let key = key_file(1);
    let app = docs(&repo.decrypted("app.enc.yaml"));
    // Capture what kpt sends a function: a script that echoes its input back.
    put(d, "capture.sh", "#!/bin/sh\ntee captured.yaml\n");
    std::fs::set_permissions(
        d.join("capture.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let kpt = kpt();
    let eval = |exec: &str, config: &str| {
        let pkg = config.split('/').next().unwrap_or_default();
        run(
            &kpt,
            &[
                "fn",
                "eval",
                pkg,
                "--exec",
                exec,
                "--fn-config",
                config,
                "-o",
                "stdout",
            ],
            d.path(),
            &[("SOPS_AGE_KEY_FILE", &key)],
            b"",
        )
    };
    eval("./capture.sh", "pkg/generator.yaml").expect_ok("kpt fn eval capture.sh");
    let captured = d.read("captured.yaml");
    // Under kpt, the binary installed as `ksops`.
    let out = eval("./ksops", "pkg/generator.yaml").expect_ok("kpt fn eval ./ksops");
    let from_kpt = items(&out.stdout);
    assert_eq!(from_kpt.len(), 2, "{}", out.stdout_text());
    assert_eq!(
        canon_map(named(&from_kpt, "app-secret", "kpt")),
        canon_map(&app[0])
    );
    let env_secret = named(&from_kpt, "from-env", "kpt");
    assert_eq!(
        get(env_secret, &["stringData"]).map(canon),
        Some(canon_map(
            &docs(b"password: 1f2d1e2e67df\nusername: admin\n")[0]
        ))
    );
    // The captured ResourceList piped in: as `leafcrypt ksops` and as `ksops`.
    for (program, args) in [
        (leafcrypt_bin().to_path_buf(), vec!["ksops"]),
        (d.join("ksops"), vec![]),
    ] {
        let out = run(
            &program,
            &args,
            d.path(),
            &[("SOPS_AGE_KEY_FILE", &key)],
            &captured,
        )
        .expect_ok("the captured ResourceList piped in");
        let text = out.stdout_text();
        assert!(
            text.starts_with("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n"),
            "{text}"
        );
        assert!(
            !text.contains("\n---"),
            "no document separator (KRM parsers fail on an empty document): {text}"
        );
        let got: Vec<String> = items(&out.stdout).iter().map(canon_map).collect();
        let want: Vec<String> = from_kpt.iter().map(canon_map).collect();
        assert_eq!(got, want, "{}", program.display());
    }
    // A tampered file: kpt reports the failure; piped in, `results` carries it, exit 1.
    let out = eval("./ksops", "badpkg/generator.yaml");
    assert_ne!(out.code, 0, "kpt must fail: {}", out.stdout_text());
    assert!(
        !out.stdout_text().contains("admin"),
        "{}",
        out.stdout_text()
    );
    let list = format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- {}",
        std::fs::read_to_string(d.join("badpkg/generator.yaml"))
            .unwrap()
            .replace('\n', "\n  ")
    );
    let out = run(
        leafcrypt_bin(),
        &["ksops"],
        d.path(),
        &[("SOPS_AGE_KEY_FILE", &key)],
        list.as_bytes(),
    );
    assert_eq!(out.code, 1, "{out:?}");
    let all = docs(&out.stdout);
    let Some(Value::List(results)) = all[0].get("results") else {
        panic!("no results: {}", out.stdout_text())
    };
    let result = results[0].as_map().expect("a result map");
    assert_eq!(
        get(result, &["severity"]).and_then(Value::as_str),
        Some("error")
    );
    let message = get(result, &["message"])
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert!(
        message.contains("bad-generator")
            && message.contains("./tampered.enc.yaml")
            && message.contains("MAC mismatch"),
        "{message}"
    );
    assert!(
        !out.stdout_text().contains("admin"),
        "{}",
        out.stdout_text()
    );
}

/// A generator file in `d` and the plugin's legacy run on it.
fn legacy_run(d: &Workdir, name: &str, config: &str, env: &[(&str, &Path)]) -> Output {
    put(d, name, config);
    run(leafcrypt_bin(), &["ksops", name], d.path(), env, b"")
}

#[test]
fn ksops_rules_outside_kustomize() {
    let d = Workdir::new();
    let key = key_file(1);
    let with_key: &[(&str, &Path)] = &[("SOPS_AGE_KEY_FILE", &key)];
    encrypt(&d, "app.enc.yaml", APP_SECRET.as_bytes());
    encrypt(&d, "secret.enc.env", DOTENV.as_bytes());
    // `a=b=c` is an error, as in KSOPS.
    let out = legacy_run(
        &d,
        "eq.yaml",
        "kind: ksops\nmetadata: {name: eq}\nsecretFrom:\n- metadata: {name: s}\n  files: [a=b=app.enc.yaml]\n",
        with_key,
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr_text()
            .contains("invalid format in file generator \"a=b=app.enc.yaml\""),
        "{out:?}"
    );
    // Neither files nor secretFrom.
    let out = legacy_run(
        &d,
        "none.yaml",
        "kind: ksops\nmetadata: {name: none}\n",
        with_key,
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr_text().contains("'files' or 'secretFrom'"),
        "{out:?}"
    );
    // KSOPS_CONCURRENCY_LIMIT: a positive integer.
    let gen = "kind: ksops\nmetadata: {name: g}\nfiles: [app.enc.yaml, app.enc.yaml]\n";
    let zero = PathBuf::from("0");
    let out = legacy_run(
        &d,
        "g.yaml",
        gen,
        &[
            ("SOPS_AGE_KEY_FILE", &key),
            ("KSOPS_CONCURRENCY_LIMIT", &zero),
        ],
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr_text().contains("KSOPS_CONCURRENCY_LIMIT"),
        "{out:?}"
    );
    let one = PathBuf::from("1");
    let out = legacy_run(
        &d,
        "g.yaml",
        gen,
        &[
            ("SOPS_AGE_KEY_FILE", &key),
            ("KSOPS_CONCURRENCY_LIMIT", &one),
        ],
    )
    .expect_ok("limit 1");
    assert_eq!(docs(&out.stdout).len(), 2);
    // No trailing separator: the output ends with the last manifest.
    assert!(
        !out.stdout_text().trim_end().ends_with("---"),
        "{}",
        out.stdout_text()
    );
    // Without the key: the error names the file and the generator; with fail-silently
    // the file is left out instead.
    let out = legacy_run(&d, "g.yaml", gen, &[]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr_text().contains("\"app.enc.yaml\" from files")
            && out.stderr_text().contains("\"g\""),
        "{out:?}"
    );
    let out = legacy_run(
        &d,
        "silent.yaml",
        "kind: ksops\nmetadata: {name: s}\nfail-silently: true\nfiles: [app.enc.yaml]\nsecretFrom:\n- metadata: {name: from-env}\n  envs: [secret.enc.env]\n",
        &[],
    )
    .expect_ok("fail-silently");
    assert!(out.stdout.is_empty(), "{}", out.stdout_text());
    assert!(out.stderr_text().contains("fail-silently"), "{out:?}");
    // KSOPS_GENERATE_DUMMY_SECRETS: placeholders, no key needed.
    let yes = PathBuf::from("true");
    let out = legacy_run(
        &d,
        "dummy.yaml",
        "kind: ksops\nmetadata: {name: d}\nfiles: [app.enc.yaml]\nsecretFrom:\n- metadata: {name: from-env}\n  envs: [secret.enc.env]\n",
        &[("KSOPS_GENERATE_DUMMY_SECRETS", &yes)],
    )
    .expect_ok("dummy secrets");
    let all = docs(&out.stdout);
    let app = named(&all, "app-secret", "dummy");
    assert_eq!(
        get(app, &["stringData", "password"]).and_then(Value::as_str),
        Some("SECRET")
    );
    assert_eq!(
        get(app, &["data", "token"]).and_then(Value::as_str),
        Some("U0VDUkVU")
    );
    assert!(app.get("sops").is_none());
    let env = named(&all, "from-env", "dummy");
    assert_eq!(
        get(env, &["stringData", "username"]).and_then(Value::as_str),
        Some("SECRET")
    );
    // A bad dotenv line: the line is named, never its text.
    encrypt(&d, "bad.enc.env", b"GOOD=1\nBAD-NAME=hunter2\n");
    let out = legacy_run(
        &d,
        "env.yaml",
        "kind: ksops\nmetadata: {name: e}\nsecretFrom:\n- metadata: {name: s}\n  envs: [bad.enc.env]\n",
        with_key,
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr_text().contains("\"bad.enc.env\"") && out.stderr_text().contains("line 2"),
        "{out:?}"
    );
    assert!(!out.stderr_text().contains("hunter2"), "{out:?}");
    // No argument and a terminal-less, non-pipe stdin (/dev/null): KSOPS's help, exit 1.
    let out = Command::new(leafcrypt_bin())
        .arg("ksops")
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ksops install"));
}

#[test]
fn install_copies_the_binary_as_ksops() {
    let d = Workdir::new();
    let tools = d.join("custom-tools");
    std::fs::create_dir(&tools).expect("mkdir");
    let out = run(
        leafcrypt_bin(),
        &["ksops", "install", "custom-tools"],
        d.path(),
        &[],
        b"",
    )
    .expect_ok("ksops install");
    assert!(
        out.stderr_text().contains("installed custom-tools/ksops"),
        "{out:?}"
    );
    let installed = tools.join("ksops");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&installed)
            .expect("installed")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o755);
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        std::fs::read(leafcrypt_bin()).unwrap()
    );
    // The copy is KSOPS by its name.
    let key = key_file(1);
    encrypt(&d, "app.enc.yaml", APP_SECRET.as_bytes());
    put(
        &d,
        "g.yaml",
        "kind: ksops\nmetadata: {name: g}\nfiles: [app.enc.yaml]\n",
    );
    let out = run(
        &installed,
        &["g.yaml"],
        d.path(),
        &[("SOPS_AGE_KEY_FILE", &key)],
        b"",
    )
    .expect_ok("the installed ksops");
    let leaf = d
        .cmd(Tool::Leafcrypt)
        .args(["decrypt", "app.enc.yaml"])
        .identity(&key)
        .run()
        .expect_ok("decrypt");
    assert_eq!(
        out.stdout, leaf.stdout,
        "one file: the output is `leafcrypt decrypt`'s bytes"
    );
    // Without a directory: KSOPS's usage, exit 1.
    let out = run(&installed, &["install"], d.path(), &[], b"");
    assert_eq!(out.code, 1);
    assert!(out
        .stderr_text()
        .contains("install requires a destination directory"));
}

#[test]
fn krm_readme_examples() {
    let repo = Repo::new();
    let d = &repo.dir;
    readme_fixtures(d);
    let key = key_file(1);
    for sub in ["readme-files", "readme-binary", "readme-envs"] {
        // The README's generator verbatim (function annotation included) as the only item.
        let config = std::fs::read_to_string(d.join(&format!("{sub}/secret-generator.yaml")))
            .expect("generator")
            .replacen(README_HEAD, README_KRM_HEAD, 1);
        let list = format!(
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- {}",
            config.trim_end().replace('\n', "\n  ")
        );
        let out = run(
            &d.join("ksops"),
            &[],
            &d.join(sub),
            &[("SOPS_AGE_KEY_FILE", &key)],
            list.as_bytes(),
        )
        .expect_ok(&format!("KRM {sub}"));
        // kustomize consumes needs-hash; as a KRM function's raw output it is still there.
        let got: Vec<String> = items(&out.stdout)
            .into_iter()
            .map(|mut m| {
                if let Some(Value::Map(meta)) = m.get_mut("metadata") {
                    meta.remove("annotations");
                }
                canon_map(&m)
            })
            .collect();
        let want: Vec<String> = docs(readme_expected(sub).as_bytes())
            .iter()
            .map(canon_map)
            .collect();
        assert_eq!(got, want, "KRM {sub}: printed\n{}", out.stdout_text());
    }
}

#[test]
fn the_gitops_example_builds_under_kubectl_kustomize() {
    let repo = Repo::new();
    let example = leafcrypt_tests::harness::repo_root().join("examples/gitops/kustomize");
    let dest = repo.dir.join("example");
    std::fs::create_dir(&dest).expect("mkdir");
    for entry in std::fs::read_dir(&example).expect("examples/gitops/kustomize") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, dest.join(path.file_name().expect("name"))).expect("copy");
    }
    let kubectl = kubectls().pop().expect("one kubectl");
    let out = repo
        .kustomize(&kubectl, "example")
        .expect_ok("kubectl kustomize examples/gitops/kustomize");
    let all = docs(&out.stdout);
    let decrypted = docs(&repo.decrypted("example/secret.enc.yaml"));
    let hashed: Vec<&Map> = all
        .iter()
        .filter(|d| name_of(d).starts_with("db-credentials-"))
        .collect();
    assert_eq!(hashed.len(), 1, "{}", out.stdout_text());
    assert_eq!(
        get(hashed[0], &["stringData"]).map(canon),
        get(&decrypted[0], &["stringData"]).map(canon)
    );
    let env = named(&all, "app-env", "example");
    assert_eq!(
        get(env, &["stringData", "LOG_LEVEL"]).and_then(Value::as_str),
        Some("info")
    );
    // The Deployment refers to the hashed name.
    assert!(out
        .stdout_text()
        .contains(&format!("name: {}", name_of(hashed[0]))));
}
