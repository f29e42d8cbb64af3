//! A worker: one PKCS#11 application with one read-write session on the trace's token, for one
//! client of the spec. It reads [`Job`]s from its standard input, one JSON line each, runs the
//! PKCS#11 calls and answers one line each; it exits when its input closes. Object handles are
//! looked up by `CKA_ID` for every job and never kept.

use crate::errors::ckr_name;
use crate::wire::{Answer, Fail, Job, KeyLine, Login, Look, Out, PinFlags};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, SessionState, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use hsm_conformance::protocol::{Bytes, Password};
use hsm_model::KeyKind;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// The DER of the P-256 curve's object identifier (`CKA_EC_PARAMS`).
const P256: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// The AES-GCM IV length the bridge uses.
const IV: usize = 12;

/// A PKCS#11 failure as the wire carries it.
fn ck(function: &str) -> impl Fn(cryptoki::error::Error) -> Fail + '_ {
    move |e| match e {
        cryptoki::error::Error::Pkcs11(rv, _) => Fail::Ckr {
            function: function.to_string(),
            ckr: ckr_name(rv),
        },
        other => Fail::Broken(format!("{function}: {other}")),
    }
}

fn pin(p: &Password) -> AuthPin {
    AuthPin::from(p.text().to_string())
}

/// The worker's library and session.
struct Worker {
    module: PathBuf,
    open: Option<(Pkcs11, Session)>,
}

impl Worker {
    fn load(&self) -> Result<Pkcs11, Fail> {
        let ctx = Pkcs11::new(&self.module).map_err(|e| {
            Fail::Broken(format!(
                "cannot load the PKCS#11 module {}: {e}",
                self.module.display()
            ))
        })?;
        ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .map_err(ck("C_Initialize"))?;
        Ok(ctx)
    }

    fn close(&mut self) {
        if let Some((ctx, session)) = self.open.take() {
            drop(session);
            let _ = ctx.finalize();
        }
    }

    fn open(&mut self, label: &str) -> Result<(), Fail> {
        self.close();
        let ctx = self.load()?;
        let slot = slot_labelled(&ctx, label)?;
        let session = ctx.open_rw_session(slot).map_err(ck("C_OpenSession"))?;
        self.open = Some((ctx, session));
        Ok(())
    }

    fn session(&self) -> Result<&Session, Fail> {
        self.open
            .as_ref()
            .map(|(_, s)| s)
            .ok_or_else(|| Fail::Broken("no session: the bridge sends `open` first".into()))
    }

    fn run(&mut self, job: Job) -> Answer {
        match job {
            Job::InitToken { so_pin, label } => {
                self.close();
                let ctx = self.load()?;
                let slot = *ctx
                    .get_slots_with_token()
                    .map_err(ck("C_GetSlotList"))?
                    .first()
                    .ok_or_else(|| Fail::Broken("the module has no slot with a token".into()))?;
                ctx.init_token(slot, &pin(&so_pin), &label)
                    .map_err(ck("C_InitToken"))?;
                let _ = ctx.finalize();
                Ok(Out::Done)
            }
            Job::Open { label } => self.open(&label).map(|()| Out::Done),
            Job::Reopen { label, login } => {
                self.open(&label)?;
                if let Some((so, p)) = login {
                    let user = if so { UserType::So } else { UserType::User };
                    self.session()?
                        .login(user, Some(&pin(&p)))
                        .map_err(ck("C_Login"))?;
                }
                Ok(Out::Done)
            }
            Job::Login { so, pin: p } => {
                let user = if so { UserType::So } else { UserType::User };
                self.session()?
                    .login(user, Some(&pin(&p)))
                    .map_err(ck("C_Login"))?;
                Ok(Out::Done)
            }
            Job::Logout => {
                self.session()?.logout().map_err(ck("C_Logout"))?;
                Ok(Out::Done)
            }
            Job::SetPin { old, new } => {
                self.session()?
                    .set_pin(&pin(&old), &pin(&new))
                    .map_err(ck("C_SetPIN"))?;
                Ok(Out::Done)
            }
            Job::InitPin { pin: p } => {
                self.session()?
                    .init_pin(&pin(&p))
                    .map_err(ck("C_InitPIN"))?;
                Ok(Out::Done)
            }
            Job::Look { keys } => self.look(keys).map(Out::Look),
            Job::Generate {
                kind,
                extractable,
                id,
            } => generate(self.session()?, kind, extractable, &id).map(|()| Out::Done),
            Job::Destroy { id } => {
                let s = self.session()?;
                let objects = s
                    .find_objects(&[Attribute::Id(id.into_bytes())])
                    .map_err(ck("C_FindObjects"))?;
                if objects.is_empty() {
                    return Err(Fail::NoObject);
                }
                for o in objects {
                    s.destroy_object(o).map_err(ck("C_DestroyObject"))?;
                }
                Ok(Out::Done)
            }
            Job::Label { id, label } => {
                let s = self.session()?;
                let objects = s
                    .find_objects(&[Attribute::Id(id.into_bytes())])
                    .map_err(ck("C_FindObjects"))?;
                if objects.is_empty() {
                    return Err(Fail::NoObject);
                }
                for o in objects {
                    s.update_attributes(o, &[Attribute::Label(label.clone().into_bytes())])
                        .map_err(ck("C_SetAttributeValue"))?;
                }
                Ok(Out::Done)
            }
            Job::Wrap { id, wrapping } => wrap(self.session()?, &id, &wrapping).map(Out::Bytes),
            Job::Unwrap {
                wrapped,
                wrapping,
                id,
            } => unwrap(self.session()?, &wrapped.0, &wrapping, &id).map(|()| Out::Done),
            Job::Encrypt { id, data } => {
                let s = self.session()?;
                let key = secret_or_private(s, &id)?;
                let mut iv = s
                    .generate_random_vec(IV as u32)
                    .map_err(ck("C_GenerateRandom"))?;
                let ct = gcm(s, key, &mut iv, &[], &data.0, true)?;
                let mut out = iv;
                out.extend(ct);
                Ok(Out::Bytes(Bytes(out)))
            }
            Job::Decrypt { id, data } => {
                let s = self.session()?;
                let key = secret_or_private(s, &id)?;
                // Too short for an IV: the whole as ciphertext under a zero IV, so that the
                // key's kind is still checked first (by C_DecryptInit).
                let (mut iv, ct) = if data.0.len() >= IV {
                    (data.0[..IV].to_vec(), data.0[IV..].to_vec())
                } else {
                    (vec![0; IV], data.0.clone())
                };
                gcm(s, key, &mut iv, &[], &ct, false).map(|p| Out::Bytes(Bytes(p)))
            }
            Job::Sign { id, data } => {
                let s = self.session()?;
                let key = signing(s, &id, ObjectClass::PRIVATE_KEY)?;
                let digest = s
                    .digest(&Mechanism::Sha256, &data.0)
                    .map_err(ck("C_Digest"))?;
                s.sign(&Mechanism::Ecdsa, key, &digest)
                    .map(|sig| Out::Bytes(Bytes(sig)))
                    .map_err(ck("C_Sign"))
            }
            Job::Verify {
                id,
                data,
                signature,
            } => {
                let s = self.session()?;
                let key = signing(s, &id, ObjectClass::PUBLIC_KEY)?;
                let digest = s
                    .digest(&Mechanism::Sha256, &data.0)
                    .map_err(ck("C_Digest"))?;
                match s.verify(&Mechanism::Ecdsa, key, &digest, &signature.0) {
                    Ok(()) => Ok(Out::Valid(true)),
                    Err(cryptoki::error::Error::Pkcs11(
                        cryptoki::error::RvError::SignatureInvalid
                        | cryptoki::error::RvError::SignatureLenRange,
                        _,
                    )) => Ok(Out::Valid(false)),
                    Err(e) => Err(ck("C_Verify")(e)),
                }
            }
            Job::Hmac { id, data } => {
                let s = self.session()?;
                let key = secret_or_private(s, &id)?;
                s.sign(&Mechanism::Sha256Hmac, key, &data.0)
                    .map(|t| Out::Bytes(Bytes(t)))
                    .map_err(ck("C_Sign"))
            }
            Job::Digest { data } => self
                .session()?
                .digest(&Mechanism::Sha256, &data.0)
                .map(|d| Out::Bytes(Bytes(d)))
                .map_err(ck("C_Digest")),
        }
    }

    fn look(&self, keys: bool) -> Result<Look, Fail> {
        let (ctx, s) = self
            .open
            .as_ref()
            .ok_or_else(|| Fail::Broken("no session: the bridge sends `open` first".into()))?;
        let info = s.get_session_info().map_err(ck("C_GetSessionInfo"))?;
        let login = match info.session_state() {
            SessionState::RoPublic | SessionState::RwPublic => Login::Public,
            SessionState::RoUser | SessionState::RwUser => Login::User,
            SessionState::RwSecurityOfficer => Login::So,
        };
        let token = ctx
            .get_token_info(info.slot_id())
            .map_err(ck("C_GetTokenInfo"))?;
        let keys = if keys { Some(key_lines(s)?) } else { None };
        Ok(Look {
            login,
            user_pin_initialized: token.user_pin_initialized(),
            so_pin: PinFlags {
                count_low: token.so_pin_count_low(),
                final_try: token.so_pin_final_try(),
                locked: token.so_pin_locked(),
            },
            user_pin: PinFlags {
                count_low: token.user_pin_count_low(),
                final_try: token.user_pin_final_try(),
                locked: token.user_pin_locked(),
            },
            pin_lengths: (token.min_pin_length() as u64, token.max_pin_length() as u64),
            keys,
        })
    }
}

/// The slot whose token carries `label` (C_GetSlotList, C_GetTokenInfo).
fn slot_labelled(ctx: &Pkcs11, label: &str) -> Result<Slot, Fail> {
    for slot in ctx
        .get_slots_with_initialized_token()
        .map_err(ck("C_GetSlotList"))?
    {
        let info = ctx.get_token_info(slot).map_err(ck("C_GetTokenInfo"))?;
        if info.label().trim_end() == label {
            return Ok(slot);
        }
    }
    Err(Fail::Broken(format!(
        "no slot holds a token labelled `{label}`"
    )))
}

/// The one object of `class` with this `CKA_ID`, if the session sees one.
fn find(s: &Session, id: &str, class: ObjectClass) -> Result<Option<ObjectHandle>, Fail> {
    let found = s
        .find_objects(&[
            Attribute::Id(id.as_bytes().to_vec()),
            Attribute::Class(class),
        ])
        .map_err(ck("C_FindObjects"))?;
    Ok(found.first().copied())
}

/// The secret key, or else the private key, with this `CKA_ID`: the object a key of the spec
/// is used through.
fn secret_or_private(s: &Session, id: &str) -> Result<ObjectHandle, Fail> {
    match find(s, id, ObjectClass::SECRET_KEY)? {
        Some(k) => Ok(k),
        None => find(s, id, ObjectClass::PRIVATE_KEY)?.ok_or(Fail::NoObject),
    }
}

/// The signing key's half of `class` with this `CKA_ID`; a secret key with it is no key the
/// ECDSA mechanism takes ([`Fail::NoMechanism`]).
fn signing(s: &Session, id: &str, class: ObjectClass) -> Result<ObjectHandle, Fail> {
    match find(s, id, class)? {
        Some(k) => Ok(k),
        None if find(s, id, ObjectClass::SECRET_KEY)?.is_some() => Err(Fail::NoMechanism),
        None => Err(Fail::NoObject),
    }
}

/// AES-GCM (128-bit tag) under `key`: encrypt or decrypt `data`.
fn gcm(
    s: &Session,
    key: ObjectHandle,
    iv: &mut [u8],
    aad: &[u8],
    data: &[u8],
    encrypt: bool,
) -> Result<Vec<u8>, Fail> {
    let params = GcmParams::new(iv, aad, 128.into())
        .map_err(|e| Fail::Broken(format!("GCM parameters: {e}")))?;
    let m = Mechanism::AesGcm(params);
    if encrypt {
        s.encrypt(&m, key, data).map_err(ck("C_Encrypt"))
    } else {
        s.decrypt(&m, key, data).map_err(ck("C_Decrypt"))
    }
}

/// The attributes every key object of the bridge has: on the token, private (only the User
/// sees it), its `CKA_ID`, an empty label.
fn common(id: &str) -> Vec<Attribute> {
    vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Id(id.as_bytes().to_vec()),
        Attribute::Label(Vec::new()),
    ]
}

/// The template of a secret or private key of `kind`.
fn template(kind: KeyKind, extractable: bool, id: &str) -> Vec<Attribute> {
    let mut t = common(id);
    t.push(Attribute::Sensitive(true));
    t.push(Attribute::Extractable(extractable));
    match kind {
        KeyKind::Aes256 => t.extend([
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            Attribute::Wrap(true),
            Attribute::Unwrap(true),
        ]),
        KeyKind::HmacSha256 => t.extend([
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::GENERIC_SECRET),
            Attribute::Sign(true),
            Attribute::Verify(true),
        ]),
        KeyKind::Signing => t.extend([
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::Sign(true),
        ]),
    }
    t
}

/// The template of a signing key's public half.
fn public_template(id: &str, point: Option<Vec<u8>>) -> Vec<Attribute> {
    let mut t = common(id);
    t.extend([
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::KeyType(KeyType::EC),
        Attribute::EcParams(P256.to_vec()),
        Attribute::Verify(true),
    ]);
    t.extend(point.map(Attribute::EcPoint));
    t
}

fn generate(s: &Session, kind: KeyKind, extractable: bool, id: &str) -> Result<(), Fail> {
    let mut t = template(kind, extractable, id);
    match kind {
        KeyKind::Aes256 => {
            t.push(Attribute::ValueLen(32.into()));
            s.generate_key(&Mechanism::AesKeyGen, &t)
                .map_err(ck("C_GenerateKey"))?;
        }
        KeyKind::HmacSha256 => {
            t.push(Attribute::ValueLen(32.into()));
            s.generate_key(&Mechanism::GenericSecretKeyGen, &t)
                .map_err(ck("C_GenerateKey"))?;
        }
        KeyKind::Signing => {
            // The class and key type come from the mechanism.
            t.retain(|a| !matches!(a, Attribute::Class(_) | Attribute::KeyType(_)));
            let mut public = public_template(id, None);
            public.retain(|a| !matches!(a, Attribute::Class(_) | Attribute::KeyType(_)));
            s.generate_key_pair(&Mechanism::EccKeyPairGen, &public, &t)
                .map_err(ck("C_GenerateKeyPair"))?;
        }
    }
    Ok(())
}

/// The spec's kind of a key object, by its class and key type (`None`: a public key, or an
/// object that is no key of the bridge).
fn kind_of(class: ObjectClass, key_type: KeyType) -> Option<KeyKind> {
    if class == ObjectClass::SECRET_KEY && key_type == KeyType::AES {
        Some(KeyKind::Aes256)
    } else if class == ObjectClass::SECRET_KEY && key_type == KeyType::GENERIC_SECRET {
        Some(KeyKind::HmacSha256)
    } else if class == ObjectClass::PRIVATE_KEY && key_type == KeyType::EC {
        Some(KeyKind::Signing)
    } else {
        None
    }
}

/// Every key the session sees, by `CKA_ID` (a signing key counted once, by its private half).
fn key_lines(s: &Session) -> Result<Vec<KeyLine>, Fail> {
    let mut lines = Vec::new();
    for o in s.find_objects(&[]).map_err(ck("C_FindObjects"))? {
        let attrs = s
            .get_attributes(
                o,
                &[
                    AttributeType::Class,
                    AttributeType::KeyType,
                    AttributeType::Id,
                    AttributeType::Extractable,
                    AttributeType::Label,
                ],
            )
            .map_err(ck("C_GetAttributeValue"))?;
        let (mut class, mut key_type, mut id, mut extractable, mut label) =
            (None, None, None, false, String::new());
        for a in attrs {
            match a {
                Attribute::Class(c) => class = Some(c),
                Attribute::KeyType(k) => key_type = Some(k),
                Attribute::Id(i) => id = Some(String::from_utf8_lossy(&i).into_owned()),
                Attribute::Extractable(e) => extractable = e,
                Attribute::Label(l) => label = String::from_utf8_lossy(&l).into_owned(),
                _ => {}
            }
        }
        if let (Some(c), Some(k), Some(id)) = (class, key_type, id) {
            if let Some(kind) = kind_of(c, k) {
                lines.push(KeyLine {
                    id,
                    kind,
                    extractable,
                    label,
                });
            }
        }
    }
    lines.sort_by(|a, b| (a.id.len(), &a.id).cmp(&(b.id.len(), &b.id)));
    Ok(lines)
}

/// The kind byte of the bridge's header.
fn kind_byte(kind: KeyKind) -> u8 {
    match kind {
        KeyKind::Aes256 => 1,
        KeyKind::HmacSha256 => 2,
        KeyKind::Signing => 3,
    }
}

fn byte_kind(b: u8) -> Option<KeyKind> {
    match b {
        1 => Some(KeyKind::Aes256),
        2 => Some(KeyKind::HmacSha256),
        3 => Some(KeyKind::Signing),
        _ => None,
    }
}

/// Wrapped bytes: `IV ‖ len(H) (2 bytes) ‖ H ‖ W`, where `W` is `C_WrapKey`'s
/// (`CKM_AES_KEY_WRAP_PAD`) and `H` the header (the kind byte, and a signing key's public
/// point) under AES-GCM of the same wrapping key with `W` as additional data: the kind and
/// the point travel with the key and no bit of the whole can change unseen.
fn wrap(s: &Session, id: &str, wrapping: &str) -> Result<Bytes, Fail> {
    let key = secret_or_private(s, id)?;
    let under = secret_or_private(s, wrapping)?;
    let wrapped = s
        .wrap_key(&Mechanism::AesKeyWrapPad, under, key)
        .map_err(ck("C_WrapKey"))?;
    let attrs = s
        .get_attributes(key, &[AttributeType::Class, AttributeType::KeyType])
        .map_err(ck("C_GetAttributeValue"))?;
    let (mut class, mut key_type) = (None, None);
    for a in attrs {
        match a {
            Attribute::Class(c) => class = Some(c),
            Attribute::KeyType(k) => key_type = Some(k),
            _ => {}
        }
    }
    let kind = match (class, key_type) {
        (Some(c), Some(k)) => kind_of(c, k),
        _ => None,
    }
    .ok_or(Fail::NoObject)?;
    let mut header = vec![kind_byte(kind)];
    if kind == KeyKind::Signing {
        let public = find(s, id, ObjectClass::PUBLIC_KEY)?.ok_or(Fail::NoObject)?;
        for a in s
            .get_attributes(public, &[AttributeType::EcPoint])
            .map_err(ck("C_GetAttributeValue"))?
        {
            if let Attribute::EcPoint(p) = a {
                header.extend(p);
            }
        }
    }
    let mut iv = s
        .generate_random_vec(IV as u32)
        .map_err(ck("C_GenerateRandom"))?;
    let sealed = gcm(s, under, &mut iv, &wrapped, &header, true)?;
    let mut out = iv;
    out.extend((sealed.len() as u16).to_be_bytes());
    out.extend(sealed);
    out.extend(wrapped);
    Ok(Bytes(out))
}

fn unwrap(s: &Session, bytes: &[u8], wrapping: &str, id: &str) -> Result<(), Fail> {
    let under = secret_or_private(s, wrapping)?;
    let parsed = (bytes.len() >= IV + 2)
        .then(|| {
            let n = u16::from_be_bytes([bytes[IV], bytes[IV + 1]]) as usize;
            let rest = &bytes[IV + 2..];
            (rest.len() > n).then(|| (bytes[..IV].to_vec(), &rest[..n], &rest[n..]))
        })
        .flatten();
    let Some((mut iv, sealed, wrapped)) = parsed else {
        // Not the bridge's bytes: the unwrapping key's kind is still checked first.
        let mut iv = vec![0; IV];
        gcm(s, under, &mut iv, &[], bytes, false)?;
        return Err(Fail::Malformed);
    };
    let header = gcm(s, under, &mut iv, wrapped, sealed, false)?;
    let kind = header
        .first()
        .and_then(|b| byte_kind(*b))
        .ok_or(Fail::Malformed)?;
    // D10: an unwrapped key is extractable.
    let t = template(kind, true, id);
    let key = s
        .unwrap_key(&Mechanism::AesKeyWrapPad, under, wrapped, &t)
        .map_err(ck("C_UnwrapKey"))?;
    if kind == KeyKind::Signing {
        if let Err(e) = s.create_object(&public_template(id, Some(header[1..].to_vec()))) {
            let _ = s.destroy_object(key);
            return Err(ck("C_CreateObject")(e));
        }
    }
    Ok(())
}

/// Runs a worker for `module` on stdin and stdout until stdin closes.
pub fn run(module: &Path) -> std::io::Result<()> {
    let mut w = Worker {
        module: module.to_path_buf(),
        open: None,
    };
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in stdin.lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let answer: Answer = match serde_json::from_str::<Job>(&line) {
            Ok(job) => w.run(job),
            Err(e) => Err(Fail::Broken(format!("not a job: {e}"))),
        };
        let text = serde_json::to_string(&answer).unwrap_or_else(|e| {
            format!(r#"{{"Err":{{"broken":"cannot write the answer: {e}"}}}}"#)
        });
        out.write_all(text.as_bytes())?;
        out.write_all(b"\n")?;
        out.flush()?;
    }
    w.close();
    Ok(())
}
