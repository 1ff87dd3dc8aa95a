//! E-mail to the submitters of initiatives and to the centre's validators,
//! through the centre's SMTP relay (`[mail]` in `ccis.toml`).
//!
//! What is sent, in plain text, in English followed by the submitter's
//! language when it is another interface language (fr, es, sv, lv, lt):
//!
//! - to the submitter: their proposal was received (with its id), accepted
//!   (with the published record's URL) or not accepted;
//! - to the validators (`[mail] validators`): a proposal was received;
//! - to the submitter: a decision about their initiative was signed on this
//!   node (outcome, rationale, the signed decision's URL), while the node
//!   still keeps their contact ([`crate::submissions::Accepted`]).
//!
//! **A message never fails what it tells about**: the submission is stored,
//! the record published, the decision signed whatever the relay does. A
//! message that cannot be sent is logged (`warn`) with what it was and the
//! relay, and dropped. `ccis serve` hands messages to one background thread
//! ([`deliver_in_background`]), so that no request waits for the relay; the
//! commands send them before they return. Each connection, and each answer
//! of the relay, waits at most `[mail] timeout_ms`.

use crate::config::{MailConfig, MailTls, NodeConfig};
use crate::submissions::{Contact, Submission};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, Message, SmtpTransport, Transport};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Messages waiting for the background thread at most; more are dropped
/// (and logged) while the relay is slow.
pub const MAX_QUEUED: usize = 256;

/// Longest subject, in characters (a title is cut to fit).
const MAX_SUBJECT_CHARS: usize = 150;

/// Why a message was not sent, or a `[mail]` setting cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// A `[mail]` setting that cannot be used.
    #[error("{0}")]
    Setting(String),
    /// An address that is not an e-mail address.
    #[error("{address:?} is not an e-mail address: {reason}")]
    Address {
        /// The address as written.
        address: String,
        /// Why.
        reason: String,
    },
    /// `[mail] password_env` names a variable that is not set.
    #[error(
        "the environment variable {0} (mail.password_env) holding the relay password is not set"
    )]
    NoPassword(String),
    /// The message cannot be composed.
    #[error("cannot compose the message: {0}")]
    Compose(String),
    /// The relay could not be reached, did not answer in time, or refused the message.
    #[error("relay {relay}: {source}")]
    Relay {
        /// `host:port`.
        relay: String,
        /// What the SMTP client said.
        source: lettre::transport::smtp::Error,
    },
    /// The relay did not connect or answer within `[mail] timeout_ms`.
    #[error("relay {relay} did not answer within {ms} ms (mail.timeout_ms)")]
    Timeout {
        /// `host:port`.
        relay: String,
        /// The limit.
        ms: u64,
    },
    /// The background queue is full (the relay is slow) or gone.
    #[error("the queue of e-mails to send is full ({MAX_QUEUED} waiting) or closed")]
    Queue,
}

/// Checks a `[mail]` section: the relay is named, the sender and the
/// validators are e-mail addresses, and a user name comes with the name of
/// the variable that holds its password.
pub fn check(config: &MailConfig) -> Result<(), MailError> {
    if config.relay.trim().is_empty() {
        return Err(MailError::Setting("relay is empty".into()));
    }
    mailbox(&config.from)?;
    for v in &config.validators {
        mailbox(v)?;
    }
    match (&config.username, &config.password_env) {
        (Some(_), None) => Err(MailError::Setting(
            "username needs password_env, the name of the environment variable that holds the password"
                .into(),
        )),
        (None, Some(_)) => Err(MailError::Setting(
            "password_env is set without a username".into(),
        )),
        _ => Ok(()),
    }
}

/// An address as `Name <addr@host>` or `addr@host`.
fn mailbox(text: &str) -> Result<Mailbox, MailError> {
    text.trim()
        .parse::<Mailbox>()
        .map_err(|e| MailError::Address {
            address: text.to_owned(),
            reason: e.to_string(),
        })
}

/// One message, composed, not yet sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    /// What it is, for the log: `submission-received`, `new-submission`,
    /// `submission-accepted`, `submission-rejected`, `decision`.
    pub kind: &'static str,
    /// What it is about, for the log: a submission id or an initiative IRI.
    pub about: String,
    /// Recipients: the name and address of a submitter, or (without a
    /// name) an address as configured, `Name <addr@host>` or `addr@host`.
    pub to: Vec<(Option<String>, String)>,
    /// The subject (English).
    pub subject: String,
    /// The plain-text body.
    pub body: String,
}

/// Sends messages through one relay.
#[derive(Debug, Clone)]
pub struct Mailer {
    config: MailConfig,
    hello: ClientId,
    domain: String,
}

impl Mailer {
    /// A mailer for `config`, greeting the relay with the host of the node's
    /// `base_url` (which also names the messages' ids).
    pub fn new(config: MailConfig, base_url: &str) -> Self {
        let host = base_url
            .split_once("://")
            .map_or(base_url, |(_, rest)| rest)
            .split('/')
            .next()
            .unwrap_or_default();
        let host = match host.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host,
        };
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let hello = match bare.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(ip)) => ClientId::Ipv4(ip),
            Ok(std::net::IpAddr::V6(ip)) => ClientId::Ipv6(ip),
            Err(_) if !bare.is_empty() => ClientId::Domain(bare.to_owned()),
            Err(_) => ClientId::Domain("localhost".to_owned()),
        };
        Self {
            config,
            hello,
            domain: if bare.is_empty() { "localhost" } else { bare }.to_owned(),
        }
    }

    /// The mailer of a node, if it has a `[mail]` section.
    pub fn of(node: &NodeConfig) -> Option<Self> {
        node.mail
            .clone()
            .map(|config| Self::new(config, &node.base_url))
    }

    /// The relay, as `host:port` (for messages and logs).
    pub fn relay(&self) -> String {
        format!("{}:{}", self.config.relay, self.config.port())
    }

    /// The configuration.
    pub fn config(&self) -> &MailConfig {
        &self.config
    }

    /// The message of `letter` as it goes out.
    pub fn compose(&self, letter: &Letter) -> Result<Message, MailError> {
        let mut builder = Message::builder()
            .from(mailbox(&self.config.from)?)
            .subject(letter.subject.clone())
            .message_id(Some(format!("<{}@{}>", random_hex(), self.domain)));
        for (name, address) in &letter.to {
            let to = match name {
                // An address as configured: `Name <addr@host>` or `addr@host`.
                None => mailbox(address)?,
                Some(name) => Mailbox::new(
                    Some(name.clone()),
                    address
                        .trim()
                        .parse::<Address>()
                        .map_err(|e| MailError::Address {
                            address: address.clone(),
                            reason: e.to_string(),
                        })?,
                ),
            };
            builder = builder.to(to);
        }
        let body = Body::new_with_encoding(
            letter.body.clone(),
            ContentTransferEncoding::QuotedPrintable,
        )
        .map_err(|_| MailError::Compose("the body cannot be encoded".into()))?;
        builder
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(body),
            )
            .map_err(|e| MailError::Compose(e.to_string()))
    }

    /// Sends `letter` now, waiting for the relay (each connection and each
    /// answer at most `timeout_ms`).
    pub fn send(&self, letter: &Letter) -> Result<(), MailError> {
        let message = self.compose(letter)?;
        let relay = self.relay();
        let smtp_err = |source| MailError::Relay {
            relay: relay.clone(),
            source,
        };
        let tls = match self.config.tls {
            MailTls::None => Tls::None,
            MailTls::Starttls => {
                Tls::Required(TlsParameters::new(self.config.relay.clone()).map_err(smtp_err)?)
            }
            MailTls::Tls => {
                Tls::Wrapper(TlsParameters::new(self.config.relay.clone()).map_err(smtp_err)?)
            }
        };
        let mut transport = SmtpTransport::builder_dangerous(self.config.relay.clone())
            .port(self.config.port())
            .tls(tls)
            .hello_name(self.hello.clone())
            .timeout(Some(Duration::from_millis(self.config.timeout_ms.max(1))));
        if let (Some(user), Some(var)) = (&self.config.username, &self.config.password_env) {
            let password = std::env::var(var).map_err(|_| MailError::NoPassword(var.clone()))?;
            transport = transport.credentials(Credentials::new(user.clone(), password));
        }
        transport.build().send(&message).map_err(|e| {
            if timed_out(&e) {
                MailError::Timeout {
                    relay: relay.clone(),
                    ms: self.config.timeout_ms.max(1),
                }
            } else {
                smtp_err(e)
            }
        })?;
        Ok(())
    }

    /// Sends `letter` now; a failure is logged (`warn`, naming the message
    /// and the relay) and goes no further.
    pub fn deliver(&self, letter: &Letter) {
        match self.send(letter) {
            Ok(()) => tracing::info!(
                mail = letter.kind,
                about = %letter.about,
                relay = %self.relay(),
                "e-mail sent"
            ),
            Err(e) => tracing::warn!(
                mail = letter.kind,
                about = %letter.about,
                relay = %self.relay(),
                error = %e,
                "e-mail not sent"
            ),
        }
    }
}

/// Whether an SMTP error is a socket's timeout (a read timeout is
/// `WouldBlock` on Unix, `TimedOut` elsewhere).
fn timed_out(error: &lettre::transport::smtp::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            );
        }
        source = e.source();
    }
    false
}

/// 16 random hexadecimal digits (a message id), or the time if the system
/// gives no random bytes.
fn random_hex() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        return format!("{nanos:x}");
    }
    hex::encode(bytes)
}

/// A message waiting for the background thread.
struct Job {
    mailer: Mailer,
    letter: Letter,
}

/// The background thread's queue and how many messages it has not finished.
struct Outbox {
    sender: SyncSender<Job>,
    pending: Arc<(Mutex<usize>, Condvar)>,
}

static OUTBOX: OnceLock<Outbox> = OnceLock::new();

/// From now on, [`post`] hands messages to one background thread of this
/// process (at most [`MAX_QUEUED`] waiting) instead of sending them before
/// it returns: what `ccis serve` does, so that no request waits for the
/// relay. Idempotent.
pub fn deliver_in_background() -> Result<(), MailError> {
    if OUTBOX.get().is_some() {
        return Ok(());
    }
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Job>(MAX_QUEUED);
    let pending = Arc::new((Mutex::new(0usize), Condvar::new()));
    let outbox = Outbox {
        sender,
        pending: Arc::clone(&pending),
    };
    if OUTBOX.set(outbox).is_err() {
        // Another thread started it first; this channel is dropped.
        return Ok(());
    }
    std::thread::Builder::new()
        .name("ccis-mail".into())
        .spawn(move || work(&receiver, &pending))
        .map(drop)
        .map_err(|e| MailError::Setting(format!("cannot start the mail thread: {e}")))
}

fn work(receiver: &Receiver<Job>, pending: &(Mutex<usize>, Condvar)) {
    for job in receiver {
        job.mailer.deliver(&job.letter);
        let (count, done) = pending;
        if let Ok(mut n) = count.lock() {
            *n = n.saturating_sub(1);
        }
        done.notify_all();
    }
}

/// Sends `letters` through the node's relay if it has a `[mail]` section
/// (else does nothing): in the background once [`deliver_in_background`]
/// was called, else now. Never fails: each message that cannot be sent or
/// queued is logged.
pub fn post(node: &NodeConfig, letters: Vec<Letter>) {
    let Some(mailer) = Mailer::of(node) else {
        return;
    };
    for letter in letters {
        match OUTBOX.get() {
            None => mailer.deliver(&letter),
            Some(outbox) => {
                if let Ok(mut n) = outbox.pending.0.lock() {
                    *n += 1;
                }
                let job = Job {
                    mailer: mailer.clone(),
                    letter,
                };
                if let Err(e) = outbox.sender.try_send(job) {
                    if let Ok(mut n) = outbox.pending.0.lock() {
                        *n = n.saturating_sub(1);
                    }
                    let letter = match e {
                        TrySendError::Full(j) | TrySendError::Disconnected(j) => j.letter,
                    };
                    tracing::warn!(
                        mail = letter.kind,
                        about = %letter.about,
                        relay = %mailer.relay(),
                        error = %MailError::Queue,
                        "e-mail not sent"
                    );
                }
            }
        }
    }
}

/// Waits until the background thread has sent (or given up) every message
/// queued, or `max_wait` has passed; whether the queue is empty. At once
/// when nothing is queued or there is no background thread.
pub fn flush(max_wait: Duration) -> bool {
    let Some(outbox) = OUTBOX.get() else {
        return true;
    };
    let (count, done) = &*outbox.pending;
    let deadline = Instant::now() + max_wait;
    let Ok(mut n) = count.lock() else {
        return false;
    };
    while *n > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        n = match done.wait_timeout(n, left) {
            Ok((guard, _)) => guard,
            Err(_) => return false,
        };
    }
    true
}

// ---------------------------------------------------------------------------
// The messages.

/// The words of the messages to submitters in one language; `{name}` and
/// the like are filled in once, never in what they are filled with.
struct Words {
    /// Its name, in itself (a heading before the translation).
    language: &'static str,
    greeting: &'static str,
    received: &'static str,
    accepted: &'static str,
    rejected: &'static str,
    reason: &'static str,
    decision: &'static str,
    /// Validated, changes requested, rejected.
    outcomes: [&'static str; 3],
    /// National, European.
    levels: [&'static str; 2],
}

const EN: Words = Words {
    language: "English",
    greeting: "Hello {name},",
    received: "{node} has received your proposal \"{title}\". Its number is {id}: keep it to ask about your proposal.\n\nThe centre reviews each proposal before publishing it; until then it is not public. You will receive an e-mail when it is accepted or declined.",
    accepted: "{node} has accepted your proposal \"{title}\" (number {id}). It is published at:\n{url}\n\nThe centre's validators will now review the initiative for the European Social Innovation database; you will be told of their decision.",
    rejected: "{node} has not accepted your proposal \"{title}\" (number {id}); it has been deleted, with your name and e-mail address.",
    reason: "Reason: {reason}",
    decision: "{node}, as {level} validator, has decided on your initiative \"{title}\":\n\n  outcome: {outcome}\n  rationale: {rationale}\n\nThe initiative: {url}\nThe signed decision: {decision}",
    outcomes: ["validated", "changes requested", "rejected"],
    levels: ["national", "European"],
};

const FR: Words = Words {
    language: "Français",
    greeting: "Bonjour {name},",
    received: "{node} a bien reçu votre proposition « {title} ». Son numéro est {id} : gardez-le pour vous renseigner à son sujet.\n\nLe centre examine chaque proposition avant de la publier ; d'ici là, elle n'est pas publique. Vous recevrez un courriel quand elle sera acceptée ou refusée.",
    accepted: "{node} a accepté votre proposition « {title} » (numéro {id}). Elle est publiée à l'adresse :\n{url}\n\nLes validateurs du centre vont maintenant examiner l'initiative pour la base de données européenne de l'innovation sociale ; vous serez informé(e) de leur décision.",
    rejected: "{node} n'a pas retenu votre proposition « {title} » (numéro {id}) ; elle a été supprimée, avec votre nom et votre adresse électronique.",
    reason: "Motif : {reason}",
    decision: "{node}, validateur {level}, a pris une décision sur votre initiative « {title} » :\n\n  décision : {outcome}\n  motivation : {rationale}\n\nL'initiative : {url}\nLa décision signée : {decision}",
    outcomes: ["validée", "modifications demandées", "refusée"],
    levels: ["national", "européen"],
};

const ES: Words = Words {
    language: "Español",
    greeting: "Hola, {name}:",
    received: "{node} ha recibido su propuesta «{title}». Su número es {id}: consérvelo para consultar sobre ella.\n\nEl centro examina cada propuesta antes de publicarla; hasta entonces no es pública. Recibirá un correo electrónico cuando sea aceptada o rechazada.",
    accepted: "{node} ha aceptado su propuesta «{title}» (número {id}). Está publicada en:\n{url}\n\nLos validadores del centro examinarán ahora la iniciativa para la base de datos europea de innovación social; se le informará de su decisión.",
    rejected: "{node} no ha aceptado su propuesta «{title}» (número {id}); se ha eliminado, junto con su nombre y su dirección de correo electrónico.",
    reason: "Motivo: {reason}",
    decision: "{node}, como validador {level}, ha tomado una decisión sobre su iniciativa «{title}»:\n\n  resultado: {outcome}\n  motivación: {rationale}\n\nLa iniciativa: {url}\nLa decisión firmada: {decision}",
    outcomes: ["validada", "cambios solicitados", "rechazada"],
    levels: ["nacional", "europeo"],
};

const SV: Words = Words {
    language: "Svenska",
    greeting: "Hej {name},",
    received: "{node} har tagit emot ditt förslag ”{title}”. Dess nummer är {id}: spara det för att kunna fråga om förslaget.\n\nCentret granskar varje förslag innan det publiceras; fram till dess är det inte offentligt. Du får ett e-postmeddelande när det har godkänts eller avslagits.",
    accepted: "{node} har godkänt ditt förslag ”{title}” (nummer {id}). Det är publicerat på:\n{url}\n\nCentrets validerare granskar nu initiativet för den europeiska databasen för social innovation; du får veta deras beslut.",
    rejected: "{node} har inte godkänt ditt förslag ”{title}” (nummer {id}); det har raderats, tillsammans med ditt namn och din e-postadress.",
    reason: "Motivering: {reason}",
    decision: "{node} har som {level} validerare fattat beslut om ditt initiativ ”{title}”:\n\n  beslut: {outcome}\n  motivering: {rationale}\n\nInitiativet: {url}\nDet signerade beslutet: {decision}",
    outcomes: ["validerat", "ändringar begärs", "avslaget"],
    levels: ["nationell", "europeisk"],
};

const LV: Words = Words {
    language: "Latviešu",
    greeting: "Labdien, {name}!",
    received: "{node} ir saņēmis jūsu priekšlikumu “{title}”. Tā numurs ir {id}: saglabājiet to, lai varētu jautāt par priekšlikumu.\n\nCentrs izskata katru priekšlikumu pirms tā publicēšanas; līdz tam tas nav publisks. Jūs saņemsiet e-pasta vēstuli, kad tas tiks pieņemts vai noraidīts.",
    accepted: "{node} ir pieņēmis jūsu priekšlikumu “{title}” (numurs {id}). Tas ir publicēts šeit:\n{url}\n\nCentra validētāji tagad izvērtēs iniciatīvu Eiropas sociālās inovācijas datubāzei; jūs tiksiet informēts par viņu lēmumu.",
    rejected: "{node} nav pieņēmis jūsu priekšlikumu “{title}” (numurs {id}); tas ir dzēsts kopā ar jūsu vārdu un e-pasta adresi.",
    reason: "Pamatojums: {reason}",
    decision: "{node} kā {level} validētājs ir pieņēmis lēmumu par jūsu iniciatīvu “{title}”:\n\n  lēmums: {outcome}\n  pamatojums: {rationale}\n\nIniciatīva: {url}\nParakstītais lēmums: {decision}",
    outcomes: ["apstiprināta", "pieprasītas izmaiņas", "noraidīta"],
    levels: ["nacionālais", "Eiropas"],
};

const LT: Words = Words {
    language: "Lietuvių",
    greeting: "Sveiki, {name},",
    received: "{node} gavo jūsų pasiūlymą „{title}“. Jo numeris – {id}: išsaugokite jį, kad galėtumėte teirautis apie pasiūlymą.\n\nCentras peržiūri kiekvieną pasiūlymą prieš jį paskelbdamas; iki tol jis nėra viešas. Gausite el. laišką, kai jis bus priimtas arba atmestas.",
    accepted: "{node} priėmė jūsų pasiūlymą „{title}“ (numeris {id}). Jis paskelbtas adresu:\n{url}\n\nCentro vertintojai dabar įvertins iniciatyvą Europos socialinių inovacijų duomenų bazei; jums bus pranešta apie jų sprendimą.",
    rejected: "{node} nepriėmė jūsų pasiūlymo „{title}“ (numeris {id}); jis ištrintas kartu su jūsų vardu ir el. pašto adresu.",
    reason: "Priežastis: {reason}",
    decision: "{node}, kaip {level} vertintojas, priėmė sprendimą dėl jūsų iniciatyvos „{title}“:\n\n  sprendimas: {outcome}\n  pagrindimas: {rationale}\n\nIniciatyva: {url}\nPasirašytas sprendimas: {decision}",
    outcomes: ["patvirtinta", "prašoma pakeitimų", "atmesta"],
    levels: ["nacionalinis", "Europos"],
};

/// The words of a language of the interface other than English, if it is one.
fn translation(language: Option<&str>) -> Option<&'static Words> {
    let code = language?.split(['-', '_']).next()?.to_ascii_lowercase();
    match code.as_str() {
        "fr" => Some(&FR),
        "es" => Some(&ES),
        "sv" => Some(&SV),
        "lv" => Some(&LV),
        "lt" => Some(&LT),
        _ => None,
    }
}

/// `template` with each `{key}` replaced by its value, in one pass: what
/// the values contain is never read as a placeholder.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let key = &after[..close];
            values
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v, close))
        });
        match value {
            Some((v, close)) => {
                out.push_str(v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Text for a subject line: on one line, at most [`MAX_SUBJECT_CHARS`].
fn one_line(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= MAX_SUBJECT_CHARS {
        return flat;
    }
    let mut cut: String = flat.chars().take(MAX_SUBJECT_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// A body in English, then in the submitter's language when it is another
/// language of the interface: `part` picks the paragraph from the words.
fn bilingual(
    language: Option<&str>,
    node: &NodeConfig,
    values: &[(&str, &str)],
    part: impl Fn(&Words) -> String,
) -> String {
    let one = |w: &Words| {
        let text = part(w);
        let mut all = vec![("node", node.name.as_str())];
        all.extend_from_slice(values);
        format!(
            "{}\n\n{}\n",
            fill(w.greeting, &all),
            fill(&text, &all).trim_end()
        )
    };
    let mut body = one(&EN);
    if let Some(words) = translation(language) {
        body.push_str(&format!("\n-- {} --\n\n", words.language));
        body.push_str(&one(words));
    }
    body.push_str(&format!("\n-- \n{}\n{}\n", node.name, node.base_url));
    body
}

fn to_contact(contact: &Contact) -> Vec<(Option<String>, String)> {
    vec![(Some(one_line(&contact.name)), contact.email.clone())]
}

/// To the submitter: their proposal was received, with its id (none once
/// their contact is erased).
pub fn received(node: &NodeConfig, submission: &Submission) -> Option<Letter> {
    let contact = submission.contact.as_ref()?;
    let values = [
        ("name", contact.name.as_str()),
        ("title", submission.title.as_str()),
        ("id", submission.id.as_str()),
    ];
    Some(Letter {
        kind: "submission-received",
        about: submission.id.clone(),
        to: to_contact(contact),
        subject: one_line(&format!(
            "{}: your proposal {} was received",
            node.name, submission.id
        )),
        body: bilingual(submission.language.as_deref(), node, &values, |w| {
            w.received.to_owned()
        }),
    })
}

/// To the validators (`[mail] validators`): a proposal was received. It
/// names the proposal, never its submitter.
pub fn new_submission(node: &NodeConfig, submission: &Submission) -> Option<Letter> {
    let validators = &node.mail.as_ref()?.validators;
    if validators.is_empty() {
        return None;
    }
    let body = format!(
        "A social innovation initiative was proposed to {node}.\n\n  number        {id}\n  title         {title}\n  organisation  {org}\n  received      {at}\n\nIt stays private until it is accepted. On the node:\n\n  ccis submission show {id}\n  ccis submission accept {id}    (with `ccis serve` stopped)\n  ccis submission reject {id}\n\n-- \n{node}\n{base}\n",
        node = node.name,
        id = submission.id,
        title = one_line(&submission.title),
        org = submission
            .organisation
            .as_deref()
            .map_or("-".into(), one_line),
        at = submission.received_at,
        base = node.base_url,
    );
    Some(Letter {
        kind: "new-submission",
        about: submission.id.clone(),
        to: validators
            .iter()
            .map(|v| (None, v.trim().to_owned()))
            .collect(),
        subject: one_line(&format!(
            "{}: new proposal {}: {}",
            node.name, submission.id, submission.title
        )),
        body,
    })
}

/// To the submitter: their proposal is published at `record` (none once
/// their contact is erased).
pub fn accepted(node: &NodeConfig, submission: &Submission, record: &str) -> Option<Letter> {
    let contact = submission.contact.as_ref()?;
    let values = [
        ("name", contact.name.as_str()),
        ("title", submission.title.as_str()),
        ("id", submission.id.as_str()),
        ("url", record),
    ];
    Some(Letter {
        kind: "submission-accepted",
        about: submission.id.clone(),
        to: to_contact(contact),
        subject: one_line(&format!(
            "{}: your proposal {} is published",
            node.name, submission.id
        )),
        body: bilingual(submission.language.as_deref(), node, &values, |w| {
            w.accepted.to_owned()
        }),
    })
}

/// To the submitter: their proposal was not accepted, with the operator's
/// reason if given (none once their contact is erased).
pub fn rejected(
    node: &NodeConfig,
    submission: &Submission,
    reason: Option<&str>,
) -> Option<Letter> {
    let contact = submission.contact.as_ref()?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    let values = [
        ("name", contact.name.as_str()),
        ("title", submission.title.as_str()),
        ("id", submission.id.as_str()),
        ("reason", reason.unwrap_or_default()),
    ];
    Some(Letter {
        kind: "submission-rejected",
        about: submission.id.clone(),
        to: to_contact(contact),
        subject: one_line(&format!(
            "{}: your proposal {} was not accepted",
            node.name, submission.id
        )),
        body: bilingual(
            submission.language.as_deref(),
            node,
            &values,
            |w| match reason {
                Some(_) => format!("{}\n\n{}", w.rejected, w.reason),
                None => w.rejected.to_owned(),
            },
        ),
    })
}

/// A decision signed on this node, as its submitter is told of it.
#[derive(Debug, Clone, Copy)]
pub struct DecisionNotice<'a> {
    /// The initiative's IRI.
    pub initiative: &'a str,
    /// Its title.
    pub title: &'a str,
    /// The outcome.
    pub outcome: ccis_model::workflow::Outcome,
    /// The level the node decides at.
    pub role: ccis_model::workflow::Role,
    /// Why, by language.
    pub rationale: &'a ccis_model::checklist::Texts,
    /// The signed decision's IRI.
    pub decision: &'a str,
}

/// To the submitter of an accepted initiative: a decision about it.
pub fn decision(
    node: &NodeConfig,
    contact: &Contact,
    language: Option<&str>,
    notice: &DecisionNotice<'_>,
) -> Letter {
    use ccis_model::workflow::{Outcome, Role};
    let outcome_index = match notice.outcome {
        Outcome::Validated => 0,
        Outcome::ChangesRequested => 1,
        Outcome::Rejected => 2,
    };
    let level_index = match notice.role {
        Role::National => 0,
        Role::European => 1,
    };
    let rationale_in = |lang: &str| {
        notice
            .rationale
            .get(lang)
            .or_else(|| notice.rationale.get("en"))
            .or_else(|| notice.rationale.values().next())
            .map(|r| r.trim().to_owned())
            .unwrap_or_default()
    };
    let part = |w: &Words| {
        let lang = if w.language == EN.language {
            "en"
        } else {
            language.unwrap_or("en")
        };
        let rationale = rationale_in(lang);
        fill(
            w.decision,
            &[
                ("outcome", w.outcomes[outcome_index]),
                ("level", w.levels[level_index]),
                ("rationale", rationale.as_str()),
            ],
        )
    };
    let values = [
        ("name", contact.name.as_str()),
        ("title", notice.title),
        ("url", notice.initiative),
        ("decision", notice.decision),
    ];
    Letter {
        kind: "decision",
        about: notice.initiative.to_owned(),
        to: to_contact(contact),
        subject: one_line(&format!(
            "{}: decision on your initiative: {}",
            node.name, EN.outcomes[outcome_index]
        )),
        body: bilingual(language, node, &values, part),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> NodeConfig {
        let mut config: NodeConfig = toml::from_str(
            r#"id = "fr-test"
name = "Centre FR"
country = "FR"
base_url = "https://ccis.example.org"
[mail]
relay = "127.0.0.1"
tls = "none"
from = "Centre FR <ccis@example.org>"
validators = ["v1@example.org", "Val Two <v2@example.org>"]
"#,
        )
        .unwrap();
        config.check().unwrap();
        config.mail.as_mut().unwrap().port = Some(2525);
        config
    }

    fn submission(language: Option<&str>) -> Submission {
        Submission {
            id: "0123456789abcdef".into(),
            received_at: "2026-12-01T10:00:00Z".into(),
            record: "https://ccis.example.org/records/submission-0123456789abcdef".into(),
            slug: None,
            title: "Repair {id} cafés".into(),
            organisation: Some("Village".into()),
            turtle: String::new(),
            contact: Some(Contact {
                name: "Ada".into(),
                email: "ada@example.org".into(),
            }),
            erased_at: None,
            language: language.map(str::to_owned),
        }
    }

    #[test]
    fn defaults_and_checks() {
        let config = node();
        let mail = config.mail.as_ref().unwrap();
        assert_eq!(mail.timeout_ms, MailConfig::DEFAULT_TIMEOUT_MS);
        assert_eq!(mail.port(), 2525);
        let mut other = mail.clone();
        other.port = None;
        assert_eq!(other.port(), 25);
        other.tls = MailTls::Starttls;
        assert_eq!(other.port(), 587);
        other.from = "not an address".into();
        assert!(check(&other).is_err());
        let mut other = mail.clone();
        other.username = Some("ccis".into());
        assert!(check(&other).is_err());
        other.password_env = Some("CCIS_SMTP_PASSWORD".into());
        check(&other).unwrap();
        let text = toml::to_string(&config).unwrap();
        assert!(text.contains("[mail]"), "{text}");
        let back: NodeConfig = toml::from_str(&text).unwrap();
        assert_eq!(back, config);
    }

    #[test]
    fn placeholders_are_filled_once() {
        assert_eq!(
            fill("{a} and {b} {c", &[("a", "{b}"), ("b", "x")]),
            "{b} and x {c"
        );
    }

    #[test]
    fn letters_name_the_submission_and_speak_its_language() {
        let config = node();
        let s = submission(Some("fr"));
        let r = received(&config, &s).unwrap();
        assert_eq!(r.to, vec![(Some("Ada".into()), "ada@example.org".into())]);
        assert!(r.subject.contains("0123456789abcdef"));
        assert!(r.body.contains("Its number is 0123456789abcdef"));
        assert!(r.body.contains("Repair {id} cafés"), "{}", r.body);
        assert!(r.body.contains("Son numéro est 0123456789abcdef"));
        let v = new_submission(&config, &s).unwrap();
        assert_eq!(v.to.len(), 2);
        assert!(!v.body.contains("ada@example.org") && !v.body.contains("Ada"));
        let a = accepted(&config, &s, "https://ccis.example.org/records/repair").unwrap();
        assert!(a.body.contains("https://ccis.example.org/records/repair"));
        let no = rejected(&config, &submission(None), Some("Out of scope.")).unwrap();
        assert!(no.body.contains("Reason: Out of scope."));
        assert!(!no.body.contains("Motif"));
        let mut erased = s.clone();
        erased.contact = None;
        assert!(received(&config, &erased).is_none());
        let rationale = [
            ("en".to_owned(), "Meets the criteria.".to_owned()),
            ("fr".to_owned(), "Répond aux critères.".to_owned()),
        ]
        .into_iter()
        .collect();
        let d = decision(
            &config,
            s.contact.as_ref().unwrap(),
            Some("fr"),
            &DecisionNotice {
                initiative: "https://ccis.example.org/records/repair",
                title: "Repair",
                outcome: ccis_model::workflow::Outcome::Validated,
                role: ccis_model::workflow::Role::National,
                rationale: &rationale,
                decision: "https://ccis.example.org/records/validation-repair-v1-national",
            },
        );
        assert!(d.subject.ends_with("validated"));
        assert!(d.body.contains("rationale: Meets the criteria."));
        assert!(d.body.contains("motivation : Répond aux critères."));
        assert!(d.body.contains("validation-repair-v1-national"));
    }

    #[test]
    fn composed_messages_are_quoted_printable_plain_text() {
        let config = node();
        let mailer = Mailer::of(&config).unwrap();
        let letter = received(&config, &submission(Some("sv"))).unwrap();
        let message = String::from_utf8(mailer.compose(&letter).unwrap().formatted()).unwrap();
        assert!(message.contains("Content-Type: text/plain; charset=utf-8"));
        assert!(message.contains("Content-Transfer-Encoding: quoted-printable"));
        assert!(message.contains("To: Ada <ada@example.org>"));
        assert!(message.contains("@ccis.example.org>"));
        let validators = new_submission(&config, &submission(None)).unwrap();
        let message = String::from_utf8(mailer.compose(&validators).unwrap().formatted()).unwrap();
        assert!(
            message.contains("To: v1@example.org, \"Val Two\" <v2@example.org>"),
            "{message}"
        );
        let mut bad = letter.clone();
        bad.to = vec![(None, "nobody".into())];
        assert!(matches!(
            mailer.compose(&bad),
            Err(MailError::Address { .. })
        ));
    }

    #[test]
    fn a_closed_port_is_an_error_not_a_panic() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut config = node();
        config.mail.as_mut().unwrap().port = Some(port);
        let mailer = Mailer::of(&config).unwrap();
        let letter = received(&config, &submission(None)).unwrap();
        let e = mailer.send(&letter).unwrap_err();
        assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
        mailer.deliver(&letter);
    }
}
