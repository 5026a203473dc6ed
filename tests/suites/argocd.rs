//! Issue 16 items 2 and 3: `k8s secret` / `k8s config` and the Argo CD Config Management
//! Plugins of examples/gitops/argocd, with the real tools of this machine.
//!
//! Proves:
//! - `k8s secret` (generic, tls, docker-registry) writes a Secret whose `data` is encrypted
//!   and the rest readable, that the real sops 3.11 decrypts to exactly what
//!   `kubectl create secret … --dry-run=client -o yaml` prints; no plaintext on disk;
//! - the `k8s config` preset is a `.sops.yaml` both tools encrypt with the same way, and
//!   its `mac_only_encrypted` lets readable fields change (labels, names) without a MAC error;
//! - the Helm plugin (plugin.yaml run by a CMP simulator, tests/cmp_sim.rs), with Helm 3.17
//!   and Helm 4 from .tools/helm (scripts/setup): discovery, the decrypted values in the
//!   rendered manifests (files encrypted by sops and by leafcrypt), Argo CD parameters
//!   (`values-files`, `helm-parameters`, `ARGOCD_ENV_*`), helm-secrets' `secrets://` form,
//!   a tampered values file failing generate with no manifest, nothing left in TMPDIR;
//! - the example kustomize Component adds the sidecars (cmp-server entrypoint, uid 999, the
//!   plugin files from the ConfigMap) to a repo-server Deployment under `kubectl kustomize`.

#[path = "../cmp_sim.rs"]
#[allow(dead_code)]
mod cmp_sim;

use cmp_sim::{App, Plugin, Render, Sidecar};
use leafcrypt_core::tree::{Map, Value};
use leafcrypt_tests::harness::{
    key_file, leafcrypt_bin, recipient, repo_root, Cmd, Output, Tool, Workdir,
};
use leafcrypt_tests::workflow::{leftovers, private_tmp, sops_encrypt, LIMIT};
use std::path::{Path, PathBuf};
use std::process::Command;

/// kubectl (on PATH; the tests fail without it).
fn kubectl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("kubectl")
        .args(args)
        .current_dir(dir)
        .env("KUBECONFIG", dir.join("no-kubeconfig"))
        .output()
        .unwrap_or_else(|e| panic!("kubectl is required (install it; see scripts/setup): {e}"));
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `leafcrypt k8s secret ARGS --age R1` in `dir` with a private TMPDIR; returns the output.
fn k8s_secret(dir: &Workdir, args: &[&str]) -> Output {
    let tmp = private_tmp(dir);
    let out = dir
        .cmd(Tool::Leafcrypt)
        .args(["k8s", "secret"])
        .args(args)
        .env("TMPDIR", &tmp)
        .timeout(LIMIT)
        .run();
    assert!(
        leftovers(&tmp).is_empty(),
        "k8s secret left files in TMPDIR"
    );
    out
}

/// sops 3.11 decrypts `file` (2-space YAML, as kubectl writes it: sops's `decrypt` has no
/// `--indent`, its config's `stores.yaml.indent` does it).
fn sops_decrypt(dir: &Workdir, file: &str) -> String {
    dir.write("indent-2.sops.yaml", "stores:\n  yaml:\n    indent: 2\n");
    dir.cmd(Tool::Sops)
        .args(["--config", "indent-2.sops.yaml", "decrypt", file])
        .identity(key_file(1))
        .timeout(LIMIT)
        .run()
        .expect_ok(&format!("sops decrypting {file}"))
        .stdout_text()
}

#[test]
fn k8s_secrets_decrypt_with_sops_to_what_kubectl_creates() {
    let dir = Workdir::new();
    let r1 = recipient(1);
    dir.write(
        "ca.crt",
        "-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n",
    );
    dir.write(
        "app.env",
        "\u{feff}DB_USER=app\n# a comment\n  DB_PASS= p@ss w0rd \n\nEMPTY=\n",
    );
    std::fs::create_dir_all(dir.join("conf")).expect("conf dir");
    dir.write("conf/a.json", "{\"k\": 1}\n");
    dir.write("conf/b.txt", [0u8, 159, 146, 150, 255]);
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args([
            "-nodes", "-keyout", "tls.key", "-out", "tls.crt", "-days", "2", "-subj", "/CN=demo",
        ])
        .current_dir(dir.path())
        .output()
        .expect("openssl is required for the TLS case");
    assert!(status.status.success(), "openssl: {status:?}");
    // (kubectl arguments, leafcrypt arguments) for the same Secret.
    let generic = [
        "db",
        "-n",
        "prod",
        "--type",
        "Opaque",
        "--from-literal=password=s3cr3t: {yaml}",
        "--from-literal=port=5432",
        "--from-file=ca.crt",
        "--from-file=root=ca.crt",
        "--from-file=conf",
    ];
    let env = ["env", "--from-env-file=app.env"];
    let cases: [(&str, Vec<&str>, Vec<&str>); 5] = [
        (
            "generic",
            [&["generic"][..], &generic].concat(),
            generic.to_vec(),
        ),
        ("env", [&["generic"][..], &env].concat(), env.to_vec()),
        ("bare", vec!["generic", "empty"], vec!["empty"]),
        (
            "tls",
            vec!["tls", "web", "--cert", "tls.crt", "--key", "tls.key"],
            vec!["web", "--cert", "tls.crt", "--key", "tls.key"],
        ),
        (
            "docker-registry",
            vec![
                "docker-registry",
                "reg",
                "--docker-server=r.example:5000",
                "--docker-username=bot",
                "--docker-password=p<&>w",
                "--docker-email=bot@example.com",
                "--namespace=ci",
            ],
            vec![
                "reg",
                "--docker-server=r.example:5000",
                "--docker-username=bot",
                "--docker-password=p<&>w",
                "--docker-email=bot@example.com",
                "--namespace=ci",
            ],
        ),
    ];
    for (label, kube_args, leaf_args) in cases {
        let mut kargs = vec!["create", "secret"];
        kargs.extend(&kube_args);
        kargs.extend(["--dry-run=client", "-o", "yaml"]);
        let expected = String::from_utf8(kubectl(dir.path(), &kargs)).expect("utf-8");
        let file = format!("{label}.enc.yaml");
        let mut args = leaf_args.clone();
        args.extend(["--age", r1, "--output", &file]);
        k8s_secret(&dir, &args).expect_ok(&format!("k8s secret ({label})"));
        let enc = String::from_utf8(dir.read(&file)).expect("utf-8");
        // data encrypted, the rest readable, the preset recorded.
        for line in enc
            .lines()
            .filter(|l| l.starts_with("    ") && !l.starts_with("     "))
        {
            let in_data = enc
                .split("\ndata:\n")
                .nth(1)
                .is_some_and(|rest| rest.split("\nkind:").next().unwrap_or("").contains(line));
            if in_data {
                // sops leaves empty strings as they are (nothing to hide).
                assert!(
                    line.contains(": ENC[AES256_GCM,") || line.ends_with(": \"\""),
                    "{label}: plain data line {line}"
                );
            }
        }
        assert!(
            enc.contains("kind: Secret\n"),
            "{label}: kind not readable:\n{enc}"
        );
        assert!(
            enc.contains("encrypted_regex: ^(data|stringData)$"),
            "{label}:\n{enc}"
        );
        assert!(enc.contains("mac_only_encrypted: true"), "{label}:\n{enc}");
        assert!(
            !enc.contains("s3cr3t") && !enc.contains("p@ss"),
            "{label}: plaintext in\n{enc}"
        );
        let decrypted = sops_decrypt(&dir, &file);
        assert_eq!(
            decrypted, expected,
            "{label}: sops 3.11 decrypts to kubectl's Secret"
        );
        let leaf = dir
            .cmd(Tool::Leafcrypt)
            .args(["decrypt", "--indent", "2", &file])
            .identity(key_file(1))
            .run()
            .expect_ok("leafcrypt decrypt");
        assert_eq!(
            leaf.stdout_text(),
            expected,
            "{label}: leafcrypt decrypts the same"
        );
    }
}

#[test]
fn k8s_secret_refuses_what_kubectl_refuses() {
    let dir = Workdir::new();
    let r1 = recipient(1);
    dir.write("bad.env", "1X=a\n");
    for (args, words) in [
        (vec!["s", "--from-literal=a b=1"], "not valid key name"),
        (
            vec!["s", "--from-literal=a=1", "--from-literal=a=2"],
            "already exists",
        ),
        (vec!["s", "--from-literal=novalue"], "key=value"),
        (vec!["s", "--from-env-file=bad.env"], "line 1"),
        (vec!["s", "--from-file=missing.txt"], "missing.txt"),
        (
            vec!["s", "--from-literal=a=1", "--from-env-file=bad.env"],
            "cannot be combined",
        ),
    ] {
        let mut all = args.clone();
        all.extend(["--age", r1]);
        let out = k8s_secret(&dir, &all);
        assert_eq!(out.code, 1, "{args:?}: {out:?}");
        assert!(
            out.stderr_text().contains(words),
            "{args:?}: {}",
            out.stderr_text()
        );
        assert!(out.stdout.is_empty(), "{args:?}: output on failure");
    }
}

#[test]
fn the_k8s_preset_config_serves_both_tools_and_survives_kustomize_edits() {
    let dir = Workdir::new();
    let config = dir
        .cmd(Tool::Leafcrypt)
        .args(["k8s", "config", "--age", recipient(1)])
        .run()
        .expect_ok("k8s config");
    dir.write(".sops.yaml", &config.stdout);
    // leafcrypt: keys and preset from the rule.
    k8s_secret(
        &dir,
        &["api", "--from-literal=token=t0k3n", "--output", "api.yaml"],
    )
    .expect_ok("k8s secret with the preset rule");
    // sops encrypts kubectl's manifest with the same rule.
    let plain = kubectl(
        dir.path(),
        &[
            "create",
            "secret",
            "generic",
            "api",
            "--from-literal=token=t0k3n",
            "--dry-run=client",
            "-o",
            "yaml",
        ],
    );
    dir.write("plain-api.yaml", &plain);
    let sops_enc = dir
        .cmd(Tool::Sops)
        .args([
            "encrypt",
            "--filename-override",
            "api-sops.yaml",
            "plain-api.yaml",
        ])
        .run()
        .expect_ok("sops encrypt with the preset");
    dir.write("api-sops.yaml", &sops_enc.stdout);
    for file in ["api.yaml", "api-sops.yaml"] {
        let text = String::from_utf8(dir.read(file)).expect("utf-8");
        assert!(
            text.contains("\n    encrypted_regex: ^(data|stringData)$\n"),
            "{file}:\n{text}"
        );
        assert!(
            text.contains("\n    mac_only_encrypted: true\n"),
            "{file}:\n{text}"
        );
        assert!(
            text.contains("    token: ENC[AES256_GCM,"),
            "{file}: data encrypted"
        );
        assert!(
            text.contains("    name: api\n"),
            "{file}: metadata readable"
        );
        // What kustomize does to a resource: a label and a name suffix. The MAC covers only
        // the encrypted values, so both tools still decrypt.
        let edited = text.replace(
            "    name: api\n",
            "    name: api-7g2k\n    labels:\n        team: ops\n",
        );
        let name = format!("edited-{file}");
        dir.write(&name, edited);
        assert!(
            sops_decrypt(&dir, &name).contains("token: dDBrM24=\n"),
            "{file} after edits (sops)"
        );
        dir.cmd(Tool::Leafcrypt)
            .args(["decrypt", &name])
            .identity(key_file(1))
            .run()
            .expect_ok(&format!("leafcrypt decrypts {name}"));
    }
}

/// `.tools/helm/<v>/helm`, installed by scripts/setup (the tests fail without it).
fn helm(version: &str) -> PathBuf {
    let p = repo_root().join(".tools/helm").join(version).join("helm");
    assert!(p.is_file(), "{} missing: run scripts/setup", p.display());
    p
}

/// A sidecar whose PATH has leafcrypt and `helm` (this version) first, keys: R1's identity.
fn sidecar(dir: &Workdir, helm_version: &str) -> Sidecar {
    let bin = dir.join(&format!("sidecar-{helm_version}/bin"));
    std::fs::create_dir_all(&bin).expect("bin");
    std::os::unix::fs::symlink(leafcrypt_bin(), bin.join("leafcrypt")).expect("link leafcrypt");
    std::os::unix::fs::symlink(helm(helm_version), bin.join("helm")).expect("link helm");
    let home = dir.join(&format!("sidecar-{helm_version}/home"));
    std::fs::create_dir_all(&home).expect("home");
    let mut path = bin.into_os_string();
    path.push(":/usr/local/bin:/usr/bin:/bin");
    Sidecar {
        path,
        env: vec![
            (
                "SOPS_AGE_KEY_FILE".into(),
                key_file(1).display().to_string(),
            ),
            (
                "HELM_CACHE_HOME".into(),
                home.join("helm/cache").display().to_string(),
            ),
            (
                "HELM_CONFIG_HOME".into(),
                home.join("helm/config").display().to_string(),
            ),
            (
                "HELM_DATA_HOME".into(),
                home.join("helm/data").display().to_string(),
            ),
        ],
        home,
    }
}

/// A repository with the example chart at `apps/demo`: `secrets.yaml` encrypted by sops
/// 3.11, `secrets.prod.yaml` by leafcrypt.
fn helm_repo(dir: &Workdir) -> PathBuf {
    let repo = dir.join("repo");
    let app = repo.join("apps/demo");
    copy_dir(&repo_root().join("examples/gitops/helm-demo"), &app);
    sops_encrypt(
        dir,
        "secrets.yaml",
        b"db:\n  password: from-sops-3.11\n",
        recipient(1),
    );
    std::fs::rename(dir.join("secrets.yaml"), app.join("secrets.yaml")).expect("move");
    dir.write("plain-prod.yaml", "image: nginx:1.27-prod\n");
    let out = dir
        .cmd(Tool::Leafcrypt)
        .args(["encrypt", "--age", recipient(1), "plain-prod.yaml"])
        .run()
        .expect_ok("leafcrypt encrypt");
    std::fs::write(app.join("secrets.prod.yaml"), &out.stdout).expect("write");
    repo
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let t = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), &t).expect("copy");
        }
    }
}

fn helm_plugin() -> Plugin {
    Plugin::load(&repo_root().join("examples/gitops/argocd/helm/plugin.yaml"))
}

fn demo_app() -> App {
    App {
        name: "demo".into(),
        namespace: "prod".into(),
        path: "apps/demo".into(),
        ..Default::default()
    }
}

/// The manifest of `kind`, panicking with the render when absent.
fn find<'a>(r: &'a Render, kind: &str) -> &'a Map {
    let docs = r
        .manifests
        .as_ref()
        .unwrap_or_else(|e| panic!("render failed: {e}\n{r:?}"));
    docs.iter()
        .find(|d| d.get("kind").and_then(Value::as_str) == Some(kind))
        .unwrap_or_else(|| panic!("no {kind} in {docs:?}"))
}

fn at<'a>(m: &'a Map, path: &[&str]) -> Option<&'a Value> {
    let (last, parents) = path.split_last()?;
    let mut cur = m;
    for p in parents {
        cur = cur.get(p)?.as_map()?;
    }
    cur.get(last)
}

fn text_at(m: &Map, path: &[&str]) -> String {
    at(m, path)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

#[test]
fn the_helm_plugin_renders_decrypted_values_with_helm_3_and_4() {
    let dir = Workdir::new();
    let repo = helm_repo(&dir);
    let plugin = helm_plugin();
    assert_eq!(plugin.name, "leafcrypt-helm-v1");
    for version in ["v3", "v4"] {
        let side = sidecar(&dir, version);
        let r = side.render(&plugin, &repo, &demo_app());
        assert!(
            r.discovered,
            "helm {version}: discover must match the chart: {r:?}"
        );
        assert_eq!(
            r.init.as_ref().map(|i| i.code),
            Some(0),
            "helm {version}: init {r:?}"
        );
        let secret = find(&r, "Secret");
        assert_eq!(
            text_at(secret, &["stringData", "password"]),
            "from-sops-3.11",
            "helm {version}"
        );
        assert_eq!(text_at(secret, &["metadata", "name"]), "demo-db");
        assert_eq!(text_at(secret, &["metadata", "namespace"]), "prod");
        let deploy = find(&r, "Deployment");
        let image = at(deploy, &["spec", "template", "spec", "containers"])
            .and_then(Value::as_list)
            .and_then(|l| l[0].as_map())
            .map(|c| text_at(c, &["image"]));
        assert_eq!(
            image.as_deref(),
            Some("nginx:1.27-prod"),
            "helm {version}: leafcrypt-encrypted file"
        );
        assert_eq!(r.manifests.as_ref().map(Vec::len).unwrap_or(0), 2);
        let left = leftovers(&side.home.join("tmp"));
        assert!(
            left.is_empty(),
            "helm {version}: plaintext left in TMPDIR: {left:?}"
        );
    }
}

#[test]
fn the_helm_plugin_takes_argo_cd_parameters_and_secrets_urls() {
    let dir = Workdir::new();
    let repo = helm_repo(&dir);
    let side = sidecar(&dir, "v3");
    let app = App {
        env: vec![("RELEASE_NAME".into(), "shop".into())],
        parameters: Some(serde_json::json!([
            {"name": "values-files", "array": ["values.yaml", "secrets://secrets.yaml"]},
            {"name": "helm-parameters", "map": {"replicas": "3"}},
        ])),
        ..demo_app()
    };
    let r = side.render(&helm_plugin(), &repo, &app);
    let secret = find(&r, "Secret");
    assert_eq!(
        text_at(secret, &["metadata", "name"]),
        "shop-db",
        "ARGOCD_ENV_RELEASE_NAME"
    );
    assert_eq!(
        text_at(secret, &["stringData", "password"]),
        "from-sops-3.11"
    );
    let deploy = find(&r, "Deployment");
    assert_eq!(
        at(deploy, &["spec", "replicas"]),
        Some(&Value::Int(3)),
        "helm-parameters"
    );
    // secrets.prod.yaml is not in values-files: its image is not used.
    let image = at(deploy, &["spec", "template", "spec", "containers"])
        .and_then(Value::as_list)
        .and_then(|l| l[0].as_map())
        .map(|c| text_at(c, &["image"]));
    assert_eq!(image.as_deref(), Some("nginx:1.27"));
    // A values file outside the repository is refused.
    let outside = App {
        parameters: Some(
            serde_json::json!([{"name": "values-files", "array": ["../../../secret-elsewhere.yaml"]}]),
        ),
        ..demo_app()
    };
    std::fs::write(side.home.join("secret-elsewhere.yaml"), "a: 1\n").expect("write");
    let r = side.render(&helm_plugin(), &repo, &outside);
    let g = r.generate.expect("generate ran");
    assert_ne!(g.code, 0, "a values file outside the repo must be refused");
    assert!(g.stderr.contains("outside the repository"), "{}", g.stderr);
}

#[test]
fn a_tampered_values_file_fails_generate_with_no_manifest() {
    let dir = Workdir::new();
    let repo = helm_repo(&dir);
    let file = repo.join("apps/demo/secrets.yaml");
    let text = std::fs::read_to_string(&file).expect("read");
    // Flip one character of the password's ciphertext.
    let at = text
        .find("password: ENC[AES256_GCM,data:")
        .expect("encrypted password")
        + 31;
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    std::fs::write(&file, bytes).expect("write");
    for version in ["v3", "v4"] {
        let side = sidecar(&dir, version);
        let r = side.render(&helm_plugin(), &repo, &demo_app());
        let g = r.generate.expect("generate ran");
        assert_ne!(
            g.code, 0,
            "helm {version}: a tampered file must fail generate"
        );
        assert!(
            g.stdout.is_empty(),
            "helm {version}: manifests printed on failure"
        );
        assert!(
            g.stderr.contains("secrets.yaml"),
            "helm {version}: the file is named: {}",
            g.stderr
        );
    }
}

#[test]
fn the_helm_plugin_discovers_only_charts_with_encrypted_values() {
    let dir = Workdir::new();
    let repo = dir.join("repo");
    copy_dir(
        &repo_root().join("examples/gitops/helm-demo"),
        &repo.join("plain-chart"),
    );
    std::fs::create_dir_all(repo.join("not-a-chart")).expect("mkdir");
    sops_encrypt(&dir, "s.yaml", b"a: 1\n", recipient(1));
    std::fs::copy(dir.join("s.yaml"), repo.join("not-a-chart/s.yaml")).expect("copy");
    let side = sidecar(&dir, "v3");
    for path in ["plain-chart", "not-a-chart"] {
        let r = side.render(
            &helm_plugin(),
            &repo,
            &App {
                path: path.into(),
                ..demo_app()
            },
        );
        assert!(!r.discovered, "{path} must not be discovered");
    }
}

#[test]
fn the_example_component_adds_the_sidecars_to_argocd_repo_server() {
    let dir = Workdir::new();
    let ex = dir.join("gitops");
    copy_dir(&repo_root().join("examples/gitops"), &ex);
    std::fs::create_dir_all(ex.join("stub")).expect("stub dir");
    dir.write(
        "gitops/stub/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: argocd-repo-server}\nspec:\n  selector: {matchLabels: {app: r}}\n  template:\n    metadata: {labels: {app: r}}\n    spec:\n      containers: [{name: argocd-repo-server, image: quay.io/argoproj/argocd:v3.1.0}]\n      volumes: [{name: var-files, emptyDir: {}}, {name: plugins, emptyDir: {}}]\n",
    );
    dir.write(
        "gitops/stub/kustomization.yaml",
        "resources: [deploy.yaml]\ncomponents: [../argocd]\n",
    );
    let out = kubectl(dir.path(), &["kustomize", "gitops/stub"]);
    let docs = cmp_sim::parse_stream(&out).expect("kustomize output");
    let cm = docs
        .iter()
        .find(|d| d.get("kind").and_then(Value::as_str) == Some("ConfigMap"))
        .expect("ConfigMap");
    for (key, file) in [
        ("helm.yaml", "helm/plugin.yaml"),
        ("kustomize.yaml", "kustomize/plugin.yaml"),
    ] {
        let want = std::fs::read_to_string(repo_root().join("examples/gitops/argocd").join(file))
            .expect("plugin");
        assert_eq!(text_at(cm, &["data", key]), want, "ConfigMap {key}");
    }
    let deploy = docs
        .iter()
        .find(|d| d.get("kind").and_then(Value::as_str) == Some("Deployment"))
        .expect("Deployment");
    let containers = at(deploy, &["spec", "template", "spec", "containers"])
        .and_then(Value::as_list)
        .expect("containers");
    for name in ["leafcrypt-helm", "leafcrypt-kustomize"] {
        let c = containers
            .iter()
            .filter_map(Value::as_map)
            .find(|c| text_at(c, &["name"]) == name)
            .unwrap_or_else(|| panic!("sidecar {name} missing"));
        let cmd = at(c, &["command"])
            .and_then(Value::as_list)
            .expect("command");
        assert_eq!(
            cmd[0].as_str(),
            Some("/var/run/argocd/argocd-cmp-server"),
            "{name}"
        );
        assert_eq!(
            at(c, &["securityContext", "runAsUser"]),
            Some(&Value::Int(999)),
            "{name}"
        );
        let mounts = at(c, &["volumeMounts"])
            .and_then(Value::as_list)
            .expect("mounts");
        assert!(
            mounts.iter().filter_map(Value::as_map).any(|m| text_at(m, &["mountPath"]) == "/home/argocd/cmp-server/config/plugin.yaml"),
            "{name}: plugin.yaml mount"
        );
        let env = at(c, &["env"]).and_then(Value::as_list).expect("env");
        let names: Vec<String> = env
            .iter()
            .filter_map(Value::as_map)
            .map(|e| text_at(e, &["name"]))
            .collect();
        for var in [
            "SOPS_AGE_KEY_FILE",
            "AZURE_TOKEN_CREDENTIALS",
            "LEAFCRYPT_PKCS11_MODULE",
            "LEAFCRYPT_PKCS11_PIN",
        ] {
            assert!(names.iter().any(|n| n == var), "{name}: {var} in {names:?}");
        }
    }
    assert_eq!(
        at(
            deploy,
            &[
                "spec",
                "template",
                "metadata",
                "labels",
                "azure.workload.identity/use"
            ]
        )
        .and_then(Value::as_str),
        Some("true")
    );
}

/// kubectl binaries with an embedded kustomize: the oldest and newest side-by-side
/// versions of the Google Cloud SDK (kustomize v5.0.1 and v5.6.0), else the one on PATH.
fn kubectls() -> Vec<PathBuf> {
    let on_path = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file())
        .expect("kubectl is required on PATH");
    let real = std::fs::canonicalize(&on_path).expect("kubectl path");
    let dir = real.parent().expect("kubectl dir");
    let versions: Vec<PathBuf> = ["kubectl.1.27", "kubectl.1.33"]
        .iter()
        .map(|n| dir.join(n))
        .filter(|p| p.is_file())
        .collect();
    if versions.is_empty() {
        vec![real]
    } else {
        versions
    }
}

/// A repository with a kustomization at `apps/kz` using a ksops generator over a Secret
/// written by `k8s secret` and a manifest encrypted by sops 3.11.
fn kustomize_repo(dir: &Workdir) -> PathBuf {
    let app = dir.join("repo/apps/kz");
    std::fs::create_dir_all(&app).expect("mkdir");
    let out = dir
        .cmd(Tool::Leafcrypt)
        .args([
            "k8s",
            "secret",
            "db",
            "--from-literal=password=kz-s3cret",
            "--age",
            recipient(1),
        ])
        .run()
        .expect_ok("k8s secret");
    std::fs::write(app.join("db.enc.yaml"), &out.stdout).expect("write");
    sops_encrypt(
        dir,
        "cm.enc.yaml",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: api\ndata:\n  token: from-sops\n",
        recipient(1),
    );
    std::fs::copy(dir.join("cm.enc.yaml"), app.join("cm.enc.yaml")).expect("copy");
    std::fs::write(
        app.join("secret-generator.yaml"),
        "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: secrets\nfiles:\n  - ./db.enc.yaml\n  - ./cm.enc.yaml\n",
    )
    .expect("write");
    std::fs::write(
        app.join("kustomization.yaml"),
        "namespace: shop\ngenerators:\n  - ./secret-generator.yaml\n",
    )
    .expect("write");
    dir.join("repo")
}

#[test]
fn the_kustomize_plugin_builds_with_leafcrypt_as_ksops() {
    let dir = Workdir::new();
    let repo = kustomize_repo(&dir);
    let plugin = Plugin::load(&repo_root().join("examples/gitops/argocd/kustomize/plugin.yaml"));
    assert_eq!(plugin.name, "leafcrypt-kustomize-v1");
    let side = sidecar(&dir, "v3");
    for kubectl in kubectls() {
        let app = App {
            name: "kz".into(),
            namespace: "shop".into(),
            path: "apps/kz".into(),
            env: vec![("KUSTOMIZE_BIN".into(), kubectl.display().to_string())],
            ..Default::default()
        };
        let r = side.render(&plugin, &repo, &app);
        let which = kubectl.display();
        assert!(r.discovered, "{which}: discover {r:?}");
        let secret = find(&r, "Secret");
        // "kz-s3cret", base64.
        assert_eq!(
            text_at(secret, &["data", "password"]),
            "a3otczNjcmV0",
            "{which}"
        );
        assert_eq!(
            text_at(secret, &["metadata", "namespace"]),
            "shop",
            "{which}"
        );
        let cm = find(&r, "ConfigMap");
        assert_eq!(text_at(cm, &["data", "token"]), "from-sops", "{which}");
        assert!(
            cm.get("sops").is_none(),
            "{which}: sops metadata left in the ConfigMap"
        );
        let left = leftovers(&side.home.join("tmp"));
        assert!(left.is_empty(), "{which}: left in TMPDIR: {left:?}");
    }
    // A tampered file fails the build, with no manifest.
    let file = repo.join("apps/kz/db.enc.yaml");
    let text = std::fs::read_to_string(&file).expect("read");
    let at = text
        .find("password: ENC[AES256_GCM,data:")
        .expect("encrypted")
        + 31;
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    std::fs::write(&file, bytes).expect("write");
    let app = App {
        path: "apps/kz".into(),
        env: vec![("KUSTOMIZE_BIN".into(), kubectls()[0].display().to_string())],
        ..Default::default()
    };
    let g = side
        .render(&plugin, &repo, &app)
        .generate
        .expect("generate ran");
    assert_ne!(g.code, 0, "a tampered file must fail the build");
    assert!(g.stdout.is_empty(), "manifests printed on failure");
    // A plain kustomization is not discovered.
    std::fs::remove_file(repo.join("apps/kz/secret-generator.yaml")).expect("rm");
    std::fs::write(repo.join("apps/kz/kustomization.yaml"), "resources: []\n").expect("write");
    assert!(!side.render(&plugin, &repo, &app).discovered);
}

#[test]
fn helm_secrets_command_lines_work_on_k8s_secret_output_as_with_sops() {
    // helm-secrets calls its `sops` backend with these argv (shared/notes/gitops.md §1.2) and
    // detects encrypted files textually: a column-0 `sops:` line and a one-line MAC.
    let dir = Workdir::new();
    k8s_secret(
        &dir,
        &[
            "hs",
            "--from-literal=k=v4lue",
            "--age",
            recipient(1),
            "--output",
            "hs.yaml",
        ],
    )
    .expect_ok("k8s secret");
    let text = String::from_utf8(dir.read("hs.yaml")).expect("utf-8");
    assert!(
        text.lines().any(|l| l.trim_end() == "sops:"),
        "helm-secrets' yaml detector"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("mac: ENC[") && l.ends_with(",type:str]")),
        "helm-secrets' is-encrypted detector"
    );
    let argvs: [&[&str]; 2] = [
        &[
            "--decrypt",
            "--input-type",
            "yaml",
            "--output-type",
            "yaml",
            "hs.yaml",
        ],
        &[
            "--decrypt",
            "--input-type",
            "yaml",
            "--output-type",
            "yaml",
            "--output",
            "{out}",
            "hs.yaml",
        ],
    ];
    for argv in argvs {
        let mut results = Vec::new();
        for tool in Tool::BOTH {
            let out_file = format!("hs-{tool}.dec");
            let args: Vec<String> = argv.iter().map(|a| a.replace("{out}", &out_file)).collect();
            let out = dir
                .cmd(tool)
                .args(&args)
                .identity(key_file(1))
                .run()
                .expect_ok(&format!("{tool} {argv:?}"));
            let text = if argv.contains(&"--output") {
                String::from_utf8(dir.read(&out_file)).expect("utf-8")
            } else {
                out.stdout_text()
            };
            assert!(text.contains("k: djRsdWU="), "{tool} {argv:?}: {text}");
            results.push(text);
        }
        assert_eq!(
            results[0], results[1],
            "{argv:?}: sops and leafcrypt differ"
        );
    }
}

#[test]
fn helm_failing_before_it_reads_the_values_leaves_nothing_behind() {
    // helm gives up on a missing chart before it opens the values FIFOs: leafcrypt must not
    // hang on them, must pass helm's exit code on, and must leave TMPDIR empty.
    let dir = Workdir::new();
    let repo = helm_repo(&dir);
    let app = repo.join("apps/demo");
    let tmp = private_tmp(&dir);
    let out = Cmd::new(Tool::Leafcrypt, &app)
        .args([
            "gitops",
            "helm-template",
            "no-such-chart",
            "-f",
            "secrets.yaml",
        ])
        .arg("--helm")
        .arg(helm("v3"))
        .identity(key_file(1))
        .env("TMPDIR", &tmp)
        .timeout(LIMIT)
        .run();
    assert!(!out.timed_out, "leafcrypt hung on an unopened FIFO");
    assert_eq!(out.code, 1, "helm's exit code: {out:?}");
    assert!(
        out.stderr_text().contains("no-such-chart"),
        "{}",
        out.stderr_text()
    );
    assert!(
        leftovers(&tmp).is_empty(),
        "left in TMPDIR: {:?}",
        leftovers(&tmp)
    );
}

#[test]
fn k8s_secret_takes_a_value_from_stdin_keeping_it_off_the_command_line() {
    // `--from-file=KEY=/dev/stdin`: the value is in no argv (ps) and in no file.
    let dir = Workdir::new();
    let tmp = private_tmp(&dir);
    let out = dir
        .cmd(Tool::Leafcrypt)
        .args([
            "k8s",
            "secret",
            "api",
            "--from-file=token=/dev/stdin",
            "--age",
            recipient(1),
        ])
        .env("TMPDIR", &tmp)
        .stdin("t0k3n-from-stdin")
        .timeout(LIMIT)
        .run()
        .expect_ok("k8s secret from stdin");
    dir.write("api.yaml", &out.stdout);
    assert!(
        !out.stdout_text().contains("t0k3n"),
        "plaintext in the output"
    );
    assert!(leftovers(&tmp).is_empty());
    let expected = kubectl(
        dir.path(),
        &[
            "create",
            "secret",
            "generic",
            "api",
            "--from-literal=token=t0k3n-from-stdin",
            "--dry-run=client",
            "-o",
            "yaml",
        ],
    );
    assert_eq!(
        sops_decrypt(&dir, "api.yaml").as_bytes(),
        expected.as_slice()
    );
}
