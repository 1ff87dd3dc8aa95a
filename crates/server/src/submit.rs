//! Public submissions of initiatives: `GET /submit` (the form, in the
//! interface language), `POST /submit` (the form sent back: errors next to
//! the fields, or the submission's id) and `POST /api/submissions` (a JSON
//! object with the form's field names, or the Turtle of one initiative:
//! `202 {"id": …}` or an RFC 9457 problem naming the fields).
//!
//! A submission is kept private in the node directory
//! ([`ccis_node::submissions`]), never in the store: nothing of it is served
//! until the operator accepts it (`ccis submission accept`). Bodies are
//! limited to `[submissions] max_bytes` (413) and each client (IP address)
//! to `per_client_per_hour` submissions (429 with `Retry-After`); the
//! proposal must pass the node's SHACL shapes (`ccis:InitiativeShape`).

use crate::AppState;
use crate::problem::Problem;
use crate::web::{self, Chrome, page};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use ccis_integrity::shapes::ShapeValidator;
use ccis_model::vocab;
use ccis_node::submissions::{
    self, FieldError, Proposal, Submission, SubmissionStore, TEMPORARY_PREFIX,
};
use oxrdf::NamedNode;
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Clients whose submissions are remembered before the stale ones are forgotten.
const MAX_CLIENTS: usize = 10_000;
/// The window of the per-client limit.
const WINDOW: Duration = Duration::from_secs(3600);

/// The submissions side of a server: where submissions go, how many each
/// client sent in the last hour, and the shapes they are checked against.
pub struct Intake {
    store: SubmissionStore,
    recent: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
    validator: OnceLock<ShapeValidator>,
}

impl Intake {
    /// The intake of the node whose submissions are kept in `store`.
    pub fn new(store: SubmissionStore) -> Self {
        Self {
            store,
            recent: Mutex::new(HashMap::new()),
            validator: OnceLock::new(),
        }
    }

    /// Where the submissions are kept.
    pub(crate) fn store(&self) -> &SubmissionStore {
        &self.store
    }

    /// Counts a submission of `client` at `now` if it is within `per_hour`;
    /// else the seconds until it would be.
    fn admit(&self, client: Option<IpAddr>, per_hour: u32, now: Instant) -> Result<(), u32> {
        // Without a peer address (a router served without connection info),
        // every request counts as one client.
        let client = client.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let Ok(mut recent) = self.recent.lock() else {
            return Err(60);
        };
        if recent.len() >= MAX_CLIENTS {
            recent.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < WINDOW)
            });
        }
        let times = recent.entry(client).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            times.pop_front();
        }
        if times.len() >= per_hour as usize {
            let wait = times
                .front()
                .map_or(WINDOW, |t| WINDOW.saturating_sub(now.duration_since(*t)));
            return Err(u32::try_from(wait.as_secs().max(1)).unwrap_or(3600));
        }
        times.push_back(now);
        Ok(())
    }
}

/// The node's shapes, taken from the node once.
fn validator(state: &AppState) -> Result<ShapeValidator, Problem> {
    if let Some(v) = state.intake.validator.get() {
        return Ok(v.clone());
    }
    let node = state
        .node
        .lock()
        .map_err(|_| Problem::internal("the node is unavailable"))?;
    let v = node.shape_validator().map_err(Problem::internal)?;
    Ok(state.intake.validator.get_or_init(|| v).clone())
}

/// Why a submission was not taken.
enum Refusal {
    /// The node takes no submissions.
    Disabled,
    /// Over the per-client limit: retry after these seconds.
    TooMany(u32),
    /// A body over the limit.
    TooLarge(usize),
    /// An unreadable body.
    BadBody(String),
    /// Fields missing or wrong.
    Fields(Vec<FieldError>),
    /// The node failed.
    Internal(String),
}

/// A refusal answered before the request body was read: the connection is
/// closed after the answer (`Connection: close`), so that no client sends
/// its next request on a connection that still carries the unread body.
fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

impl Refusal {
    /// Whether the refusal comes before the body was read through.
    fn leaves_body_unread(&self) -> bool {
        matches!(
            self,
            Refusal::Disabled | Refusal::TooMany(_) | Refusal::TooLarge(_)
        )
    }

    /// The answer to an API client.
    fn response(self) -> Response {
        let unread = self.leaves_body_unread();
        let response = self.problem().into_response();
        if unread { closing(response) } else { response }
    }

    fn problem(self) -> Problem {
        match self {
            Refusal::Disabled => Problem::not_found("this node takes no submissions"),
            Refusal::TooMany(secs) => Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-submissions",
                format!("too many submissions from this address; retry in {secs} s"),
            )
            .retry_after(secs),
            Refusal::TooLarge(limit) => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                format!("a submission is at most {limit} bytes (submissions.max_bytes)"),
            )
            .with("limit", json!(limit)),
            Refusal::BadBody(detail) => Problem::new(StatusCode::BAD_REQUEST, "bad-body", detail)
                .titled("Unreadable submission"),
            Refusal::Fields(errors) => {
                let mut fields: Vec<&str> = Vec::new();
                for e in &errors {
                    if !fields.contains(&e.field.as_str()) {
                        fields.push(&e.field);
                    }
                }
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-submission",
                    format!("fields missing or invalid: {}", fields.join(", ")),
                )
                .titled("Submission incomplete or invalid")
                .with("fields", json!(fields))
                .with("errors", json!(errors))
            }
            Refusal::Internal(detail) => Problem::internal(detail),
        }
    }
}

/// The peer's address, when the server was given it.
fn client(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// Checks that submissions are on and the client within its limit, then
/// reads the body within `max_bytes`.
async fn admit_and_read(
    state: &AppState,
    request: Request,
) -> Result<(HeaderMap, Uri, Bytes), Refusal> {
    let settings = &state.config.submissions;
    if !settings.enabled {
        return Err(Refusal::Disabled);
    }
    state
        .intake
        .admit(
            client(&request),
            settings.per_client_per_hour,
            Instant::now(),
        )
        .map_err(Refusal::TooMany)?;
    let limit = settings.max_bytes;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(Refusal::TooLarge(limit));
    }
    let (parts, body) = request.into_parts();
    let bytes = read_limited(body, limit).await?;
    Ok((parts.headers, parts.uri, bytes))
}

/// The body, or [`Refusal::TooLarge`] as soon as it passes `limit` bytes.
async fn read_limited(mut body: axum::body::Body, limit: usize) -> Result<Bytes, Refusal> {
    use axum::body::HttpBody;
    let mut out = Vec::new();
    loop {
        let frame = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await;
        match frame {
            None => return Ok(Bytes::from(out)),
            Some(Err(e)) => return Err(Refusal::BadBody(e.to_string())),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    if out.len() + data.len() > limit {
                        return Err(Refusal::TooLarge(limit));
                    }
                    out.extend_from_slice(&data);
                }
            }
        }
    }
}

/// Builds, checks and stores a submission from form or JSON fields; its id.
async fn take_proposal(
    state: &AppState,
    proposal: Proposal,
    language: &str,
) -> Result<String, Refusal> {
    let id = submissions::new_id().map_err(|e| Refusal::Internal(e.to_string()))?;
    let base = state.config.base_url.trim_end_matches('/').to_owned();
    let iri = NamedNode::new(format!("{base}/records/{TEMPORARY_PREFIX}{id}"))
        .map_err(|e| Refusal::Internal(e.to_string()))?;
    let record = proposal
        .record(&iri, &state.config.country_iri())
        .map_err(Refusal::Fields)?;
    let slug = proposal.slug().map_err(|e| Refusal::Fields(vec![e]))?;
    let contact = proposal.contact().map_err(Refusal::Fields)?;
    store(state, &id, record, slug, contact, language).await
}

/// Checks a proposed record against the shapes and stores it; its id.
async fn store(
    state: &AppState,
    id: &str,
    record: ccis_model::record::Record,
    slug: Option<String>,
    contact: submissions::Contact,
    language: &str,
) -> Result<String, Refusal> {
    let validator = validator(state)
        .map_err(|p| Refusal::Internal(p.detail().to_owned()))?
        .in_language(language);
    let errors = submissions::check_shapes(&record, &validator);
    if !errors.is_empty() {
        return Err(Refusal::Fields(errors));
    }
    let mut submission = Submission::new(
        id,
        &state.config.base_url,
        &record,
        slug,
        contact,
        time::OffsetDateTime::now_utc(),
    )
    .map_err(|e| Refusal::Internal(e.to_string()))?;
    // The interface language of the form (the API answers in English):
    // e-mails to the submitter are in English and in it.
    submission.language = Some(language.to_owned()).filter(|l| l != "en");
    let store = state.intake.store.clone();
    let saved = submission.clone();
    tokio::task::spawn_blocking(move || store.save(&saved))
        .await
        .map_err(|e| Refusal::Internal(e.to_string()))?
        .map_err(|e| Refusal::Internal(e.to_string()))?;
    tracing::info!(submission = %id, "submission received");
    if state.config.mail.is_some() {
        // Never awaited: the answer does not wait for the relay, and a
        // message that cannot be sent is logged, the submission kept.
        let config = std::sync::Arc::clone(&state.config);
        drop(tokio::task::spawn_blocking(move || {
            submissions::notify_received(&config, &submission);
        }));
    }
    Ok(id.to_owned())
}

/// `POST /api/submissions`: a JSON object with the form's fields, or the
/// Turtle of one initiative (contact in `?contact_name=&contact_email=`,
/// slug from the record IRI or `?slug=`); `202 {"id": …}`.
pub async fn api(State(state): State<AppState>, request: Request) -> Response {
    match api_submission(&state, request).await {
        Ok(id) => (StatusCode::ACCEPTED, axum::Json(json!({ "id": id }))).into_response(),
        Err(refusal) => refusal.response(),
    }
}

async fn api_submission(state: &AppState, request: Request) -> Result<String, Refusal> {
    let (headers, uri, body) = admit_and_read(state, request).await?;
    let media = ccis_model::rdf_input::media_type_of(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    );
    match media.as_str() {
        "application/json" => {
            let value: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| Refusal::BadBody(format!("not JSON: {e}")))?;
            let proposal = Proposal::from_json(&value).map_err(Refusal::Fields)?;
            take_proposal(state, proposal, "en").await
        }
        "text/turtle" => {
            let query: Vec<(String, String)> =
                form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
            let param = |name: &str| {
                query
                    .iter()
                    .find(|(k, _)| k == name)
                    .map_or("", |(_, v)| v.as_str())
            };
            let (record, proposed) =
                submissions::initiative_from_turtle(&body, &state.config.base_url)
                    .map_err(Refusal::Fields)?;
            let mut errors = Vec::new();
            let contact = submissions::contact(param("contact_name"), param("contact_email"))
                .map_err(|e| errors.extend(e))
                .ok();
            let slug = match Proposal::from_pairs([("slug".to_owned(), param("slug").to_owned())])
                .slug()
            {
                Ok(s) => s.or(proposed),
                Err(e) => {
                    errors.push(e);
                    None
                }
            };
            let (Some(contact), true) = (contact, errors.is_empty()) else {
                return Err(Refusal::Fields(errors));
            };
            let id = submissions::new_id().map_err(|e| Refusal::Internal(e.to_string()))?;
            store(state, &id, record, slug, contact, "en").await
        }
        other => Err(Refusal::BadBody(format!(
            "unsupported media type {other:?}: send application/json or text/turtle"
        ))),
    }
}

/// One option of a list in the form.
pub struct OptionView {
    /// Its value.
    pub value: String,
    /// Its label in the interface language.
    pub label: String,
    /// Whether chosen.
    pub selected: bool,
}

/// One field of the form.
pub struct FieldView {
    /// The field name (also its id).
    pub name: &'static str,
    /// Its label.
    pub label: String,
    /// A help text under the label (may be empty).
    pub help: String,
    /// `text`, `email`, `textarea`, `select` or `multiple`.
    pub kind: &'static str,
    /// Whether required.
    pub required: bool,
    /// The value entered.
    pub value: String,
    /// The options of a list.
    pub options: Vec<OptionView>,
    /// What is wrong with it.
    pub errors: Vec<String>,
}

/// The page of `/submit`.
#[derive(Template)]
#[template(path = "submit.html")]
pub struct SubmitPage {
    /// Header and navigation.
    pub page: Chrome,
    /// The form's fields (empty on the success page).
    pub fields: Vec<FieldView>,
    /// An error about the whole form (empty if none).
    pub alert: String,
    /// The id of the submission received (empty until then).
    pub received: String,
}

/// The form's fields: name, kind, required.
const FORM: [(&str, &str, bool); 17] = [
    ("title", "text", true),
    ("language", "select", true),
    ("description", "textarea", true),
    ("problem_addressed", "textarea", true),
    ("approach", "textarea", true),
    ("key_results", "textarea", true),
    ("scaling_potential", "textarea", true),
    ("lessons_learned", "textarea", false),
    ("target_group", "textarea", false),
    ("funding", "textarea", false),
    ("theme", "multiple", true),
    ("stage", "select", true),
    ("level_of_action", "select", true),
    ("organisation", "text", false),
    ("slug", "text", false),
    ("contact_name", "text", true),
    ("contact_email", "email", true),
];

/// The official EU languages, by ISO 639-1 code.
const EU_LANGUAGES: [&str; 24] = [
    "bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu", "it", "lt", "lv",
    "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv",
];
const THEMES: [&str; 10] = [
    "employment",
    "social-inclusion",
    "housing",
    "mobility",
    "ecological-transition",
    "ageing-autonomy",
    "rural-development",
    "education-skills",
    "health",
    "digital-inclusion",
];
const STAGES: [&str; 3] = ["emergence", "consolidation", "scaling"];
const LEVELS: [&str; 4] = ["local", "regional", "national", "transnational"];

/// The form's fields with `proposal`'s values and `errors` beside them.
fn fields(
    labels: &web::labels::Labels,
    lang: &'static str,
    proposal: &Proposal,
    errors: &[FieldError],
) -> Vec<FieldView> {
    form_fields(labels, lang, proposal, errors, true)
}

/// The fields of an initiative's form, the submitter's contact only if
/// `with_contact` (an operator's own initiative has none).
pub(crate) fn form_fields(
    labels: &web::labels::Labels,
    lang: &'static str,
    proposal: &Proposal,
    errors: &[FieldError],
    with_contact: bool,
) -> Vec<FieldView> {
    let tr = crate::web::i18n::Tr::new(lang);
    let concepts = |prefix: &str, names: &[&str], chosen: &[&str]| -> Vec<OptionView> {
        names
            .iter()
            .map(|n| {
                let value = format!("{prefix}{n}");
                OptionView {
                    label: labels.label(&format!("{}{value}", vocab::CCIS), lang),
                    selected: chosen.iter().any(|c| *c == value || c == n),
                    value,
                }
            })
            .collect()
    };
    FORM.iter()
        .filter(|(name, _, _)| with_contact || !name.starts_with("contact_"))
        .map(|&(name, kind, required)| {
            let value = proposal.get(name);
            let options = match name {
                "language" => {
                    let chosen = if value.is_empty() { lang } else { value };
                    EU_LANGUAGES
                        .iter()
                        .map(|code| OptionView {
                            value: (*code).to_owned(),
                            label: labels.label(code, lang),
                            selected: *code == chosen,
                        })
                        .collect()
                }
                "theme" => concepts("theme-", &THEMES, &proposal.all("theme")),
                "stage" => concepts("stage-", &STAGES, &[value]),
                "level_of_action" => concepts("level-", &LEVELS, &[value]),
                _ => Vec::new(),
            };
            let field_errors = errors
                .iter()
                .filter(|e| e.field == name)
                .map(|e| match e.code.as_str() {
                    "shape" | "syntax" => e.message.clone(),
                    code => tr.t(&format!("submit-error-{code}")),
                })
                .collect();
            let help_id = format!("submit-help-{}", name.replace('_', "-"));
            FieldView {
                name,
                label: tr.t(&format!("submit-field-{}", name.replace('_', "-"))),
                help: if tr.has(&help_id) {
                    tr.t(&help_id)
                } else {
                    String::new()
                },
                kind,
                required,
                value: value.to_owned(),
                options,
                errors: field_errors,
            }
        })
        .collect()
}

/// What the form page shows.
struct Shown<'a> {
    status: StatusCode,
    proposal: &'a Proposal,
    errors: &'a [FieldError],
    alert: String,
    received: String,
}

impl Shown<'_> {
    fn form(status: StatusCode, alert: String) -> Self {
        Shown {
            status,
            proposal: EMPTY,
            errors: &[],
            alert,
            received: String::new(),
        }
    }
}

/// A form with nothing entered.
const EMPTY: &Proposal = &Proposal { values: Vec::new() };

/// Renders the form page.
async fn render(state: &AppState, uri: &Uri, headers: &HeaderMap, shown: Shown<'_>) -> Response {
    let lang = web::language(uri, headers);
    let labels = match web::labels(state).await {
        Ok(l) => l,
        Err(response) => return response,
    };
    let tr = crate::web::i18n::Tr::new(lang);
    let fields = if shown.received.is_empty() {
        fields(&labels, lang, shown.proposal, shown.errors)
    } else {
        Vec::new()
    };
    let view = SubmitPage {
        page: Chrome::new(state, lang, uri, "/submit", tr.t("submit-title")),
        fields,
        alert: shown.alert,
        received: shown.received,
    };
    page(shown.status, lang, view.render())
}

/// `GET /submit`: the form.
pub async fn form(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    if !state.config.submissions.enabled {
        return Refusal::Disabled.response();
    }
    render(
        &state,
        &uri,
        &headers,
        Shown::form(StatusCode::OK, String::new()),
    )
    .await
}

/// `POST /submit`: the form sent back; the page with the submission's id,
/// or the form again with the values entered and the errors beside the fields.
pub async fn post_form(State(state): State<AppState>, request: Request) -> Response {
    let uri = request.uri().clone();
    let headers = request.headers().clone();
    let lang = web::language(&uri, &headers);
    let tr = crate::web::i18n::Tr::new(lang);
    let body = match admit_and_read(&state, request).await {
        Ok((_, _, body)) => body,
        Err(Refusal::TooMany(secs)) => {
            let alert = tr.num("submit-too-many", "minutes", u64::from(secs.div_ceil(60)));
            let shown = Shown::form(StatusCode::TOO_MANY_REQUESTS, alert);
            let mut response = render(&state, &uri, &headers, shown).await;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            return closing(response);
        }
        Err(Refusal::TooLarge(limit)) => {
            let kib = u64::try_from(limit / 1024).unwrap_or(u64::MAX);
            let alert = tr.num("submit-too-large", "kib", kib);
            let shown = Shown::form(StatusCode::PAYLOAD_TOO_LARGE, alert);
            return closing(render(&state, &uri, &headers, shown).await);
        }
        Err(other) => return other.response(),
    };
    let proposal = Proposal::from_pairs(
        form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), v.into_owned())),
    );
    let shown = match take_proposal(&state, proposal.clone(), lang).await {
        Ok(id) => Shown {
            status: StatusCode::OK,
            proposal: &proposal,
            errors: &[],
            alert: String::new(),
            received: id,
        },
        Err(Refusal::Fields(errors)) => {
            return render(
                &state,
                &uri,
                &headers,
                Shown {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    proposal: &proposal,
                    errors: &errors,
                    alert: tr.t("submit-has-errors"),
                    received: String::new(),
                },
            )
            .await;
        }
        Err(other) => return other.response(),
    };
    render(&state, &uri, &headers, shown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_counts_per_client_per_hour() {
        let intake = Intake::new(SubmissionStore::new("/nonexistent"));
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        let b = Some(IpAddr::from([10, 0, 0, 2]));
        let t0 = Instant::now();
        assert!(intake.admit(a, 2, t0).is_ok());
        assert!(intake.admit(a, 2, t0).is_ok());
        let wait = intake.admit(a, 2, t0).unwrap_err();
        assert!(wait > 3500 && wait <= 3600, "{wait}");
        assert!(intake.admit(b, 2, t0).is_ok());
        assert!(intake.admit(a, 2, t0 + WINDOW).is_ok());
    }
}
