//! Key options: the keyring (`age`, `pgp`, `kek`) and the key groups a new file is encrypted for.
//!
//! ```text
//! age:       { identities?: string | string[], recipients?: string | string[] }
//! pgp:       { publicKeys?, privateKeys?, passphrase?, recipients? }   // see crate::pgp
//! kek:       { id, wrap, unwrap } | Array<{ id, wrap, unwrap }>
//! azureKv:   { getToken, keys?, endpoint?, remoteEncrypt?, verifyChallengeResource? }
//! awsKms:    { getCredentials, keys?, encryptionContext?, endpoint?, stsEndpoint? }   // see crate::aws_kms
//! gcpKms:    { getToken, keys?, endpoint? }   // see crate::gcp_kms
//! hcVault:   { getToken? | token?, keys?, namespace? }
//! keyGroups: Array<{ age?: string[], pgp?: string[], kek?: string[], azureKv?: string[], awsKms?: string[], gcpKms?: string[], hcVault?: string[] }>   // Shamir; kek entries are ids
//! ```
//!
//! `age.recipients` takes `age1…` keys and SSH public keys (`ssh-ed25519 …`, `ssh-rsa …`);
//! `age.identities` takes `AGE-SECRET-KEY-1…` lines and unencrypted SSH private keys (a
//! whole OpenSSH or PEM key file). age plugins need a program, so they are refused here.

use crate::failure::{Failure, Result};
use crate::kek::{self, CallbackKek};
use crate::options::Options;
use leafcrypt_core::keysource::age::{parse_recipient, AgeSource};
use leafcrypt_core::keysource::pgp;
use leafcrypt_core::keysource::{KeyEntry, Keyring};
use leafcrypt_core::metadata::KeyGroup;

/// The key sources and key descriptions an operation's options name.
pub struct Keys {
    /// Every source: age (identities may be empty) and the callback KEKs.
    pub keyring: Keyring,
    /// `age.recipients`, validated.
    pub recipients: Vec<String>,
    /// The PGP fingerprints to encrypt for (`pgp.recipients`, else `pgp.publicKeys`).
    pub pgp_recipients: Vec<String>,
    /// The ids of the callback KEKs, in the order given.
    pub kek_ids: Vec<String>,
    /// `azureKv.keys` as key descriptions.
    pub azure_keys: Vec<KeyEntry>,
    /// `awsKms.keys` as key descriptions.
    pub aws_keys: Vec<KeyEntry>,
    /// `gcpKms.keys` as key descriptions.
    pub gcp_keys: Vec<KeyEntry>,
    /// `hcVault.keys` as key descriptions.
    pub vault_keys: Vec<KeyEntry>,
}

impl Keys {
    /// Reads `age`, `pgp`, `kek` and `azureKv`.
    pub fn from_options(options: &Options) -> Result<Self> {
        let age = options.object("age")?;
        let identities = age.strings("identities")?.join("\n");
        let source = AgeSource::from_identities_text(&identities)
            .map_err(|e| Failure::Options(format!("options.age.identities: {e}")))?;
        let recipients = age.strings("recipients")?;
        for recipient in &recipients {
            parse_recipient(recipient)
                .map_err(|e| Failure::Options(format!("options.age.recipients: {e}")))?;
        }
        let pgp = crate::pgp::Pgp::from_options(options)?;
        let pgp_recipients = pgp.recipients;
        let mut keyring = Keyring::new()
            .with(Box::new(source))
            .with(Box::new(pgp.source));
        let mut kek_ids = Vec::new();
        for kek in options.objects("kek")? {
            let kek = CallbackKek::from_options(&kek)?;
            if kek_ids.iter().any(|id| id == kek.id()) {
                return Err(Failure::Options(format!(
                    "two keks have the id '{}'",
                    kek.id()
                )));
            }
            kek_ids.push(kek.id().to_string());
            keyring.add(Box::new(kek));
        }
        let mut azure_keys = Vec::new();
        if let Some(kv) = crate::azure_kv::AzureKv::from_options(options)? {
            azure_keys = kv.entries();
            keyring.add(Box::new(kv.source));
        }
        #[cfg_attr(not(feature = "aws-kms"), allow(unused_mut))]
        let mut aws_keys = Vec::new();
        #[cfg(feature = "aws-kms")]
        if let Some(kms) = crate::aws_kms::AwsKms::from_options(options)? {
            aws_keys = kms.keys;
            keyring.add(Box::new(kms.source));
        }
        let mut gcp_keys = Vec::new();
        if let Some(gcp) = crate::gcp_kms::GcpKms::from_options(options)? {
            gcp_keys = gcp.keys;
            keyring.add(Box::new(gcp.source));
        }
        let mut vault_keys = Vec::new();
        if let Some(hv) = crate::hc_vault::HcVault::from_options(options)? {
            vault_keys = hv.keys;
            keyring.add(Box::new(hv.source));
        }
        Ok(Self {
            keyring,
            recipients,
            pgp_recipients,
            kek_ids,
            azure_keys,
            aws_keys,
            gcp_keys,
            vault_keys,
        })
    }

    /// The key groups to encrypt for: `keyGroups` when given, else one group of every
    /// `age.recipients` entry, every PGP recipient and every `kek` (none when there are no
    /// keys).
    pub fn groups(&self, options: &Options) -> Result<Vec<KeyGroup>> {
        let explicit = options.objects("keyGroups")?;
        if explicit.is_empty() {
            let mut keys: Vec<KeyEntry> = self.recipients.iter().map(|r| age_entry(r)).collect();
            keys.extend(self.pgp_recipients.iter().map(|fp| pgp::entry(fp)));
            keys.extend(self.azure_keys.iter().cloned());
            keys.extend(self.aws_keys.iter().cloned());
            keys.extend(self.gcp_keys.iter().cloned());
            keys.extend(self.vault_keys.iter().cloned());
            keys.extend(self.kek_ids.iter().map(|id| kek::entry(id)));
            // No key at all is no group at all: the core's "no keys" error.
            return Ok(if keys.is_empty() {
                Vec::new()
            } else {
                vec![KeyGroup { keys }]
            });
        }
        explicit.iter().map(|group| self.group(group)).collect()
    }

    /// One `{ age?, pgp?, kek?, azureKv?, awsKms? }` key group object (`kek` entries are ids of
    /// `options.kek`).
    pub fn group(&self, group: &Options) -> Result<KeyGroup> {
        let mut keys = Vec::new();
        for recipient in group.strings("age")? {
            parse_recipient(&recipient)
                .map_err(|e| Failure::Options(format!("options.keyGroups: {e}")))?;
            keys.push(age_entry(&recipient));
        }
        keys.extend(crate::pgp::entries(
            &group.strings("pgp")?,
            "options.keyGroups[].pgp",
        )?);
        keys.extend(crate::azure_kv::group_entries(&group.strings("azureKv")?)?);
        #[cfg(feature = "aws-kms")]
        keys.extend(crate::aws_kms::entries(&group.strings("awsKms")?));
        keys.extend(crate::gcp_kms::group_entries(&group.strings("gcpKms")?)?);
        keys.extend(crate::hc_vault::entries(
            &group.strings("hcVault")?,
            "options.keyGroups[].hcVault",
        )?);
        for id in group.strings("kek")? {
            if !self.kek_ids.contains(&id) {
                return Err(Failure::Options(format!(
                    "options.keyGroups names kek '{id}', which options.kek does not define"
                )));
            }
            keys.push(kek::entry(&id));
        }
        Ok(KeyGroup { keys })
    }
}

/// The description of an age key.
pub fn age_entry(recipient: &str) -> KeyEntry {
    KeyEntry::new("age").with("recipient", recipient.trim())
}
