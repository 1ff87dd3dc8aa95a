//! The handlers and templates of the validators' pages.

use super::{
    carries_token, client, field, forged, form_of, logged_in, redirect, safe_next, session_of,
};
use crate::AppState;
use crate::problem::Problem;
use crate::web::i18n::Tr;
use crate::web::labels::Labels;
use crate::web::record_page::{self, Field};
use crate::web::{self, Chrome, page};
use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use ccis_model::checklist::{Checklist, Texts};
use ccis_model::decision::CriterionOutcome;
use ccis_model::workflow::{DecisionStatus, Outcome, Role, State as WorkflowState};
use ccis_node::accounts::Account;
use ccis_node::audit::AuditLog;
use ccis_node::node::NodeError;
use ccis_node::validation::{DecisionRequest, InitiativeState, ValidationError};
use oxrdf::NamedNode;
use std::collections::BTreeMap;
use std::time::Instant;

/// The text of `texts` in `lang`, else English, else any.
fn pick(texts: &Texts, lang: &str) -> String {
    texts
        .get(lang)
        .or_else(|| texts.get("en"))
        .or_else(|| texts.values().next())
        .cloned()
        .unwrap_or_default()
}

/// The value of query parameter `name`.
pub(super) fn param(uri: &Uri, name: &str) -> Option<String> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Who is logged in, as the pages show it.
pub struct UserView {
    /// The account's name.
    pub name: String,
    /// Its role, labelled.
    pub role: String,
    /// The session's CSRF token (for the logout form).
    pub csrf: String,
}

pub(super) fn user_view(account: &Account, csrf: &str, tr: &Tr) -> UserView {
    UserView {
        name: account.name.clone(),
        role: tr.t(&format!("review-role-{}", account.role.name())),
        csrf: csrf.to_owned(),
    }
}

// ---------------------------------------------------------------- login

/// The login page.
#[derive(Template)]
#[template(path = "review_login.html")]
pub struct LoginPage {
    /// Header and navigation.
    pub page: Chrome,
    /// The session's CSRF token.
    pub csrf: String,
    /// Where to go after login.
    pub next: String,
    /// The name entered.
    pub name: String,
    /// What went wrong, if anything.
    pub alert: String,
}

/// What the login form shows besides its frame.
struct LoginShown<'a> {
    status: StatusCode,
    next: &'a str,
    name: &'a str,
    alert: String,
}

fn login_page(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    session: &super::SessionView,
    shown: LoginShown<'_>,
) -> Response {
    let lang = web::language(uri, headers);
    let tr = Tr::new(lang);
    let view = LoginPage {
        page: Chrome::new(state, lang, uri, "", tr.t("review-login-title")),
        csrf: session.csrf.clone(),
        next: shown.next.to_owned(),
        name: shown.name.to_owned(),
        alert: shown.alert,
    };
    let mut response = page(shown.status, lang, view.render());
    no_store(&mut response);
    response
        .headers_mut()
        .insert(header::SET_COOKIE, state.review.cookie(&session.id));
    response
}

pub(super) fn no_store(response: &mut Response) {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// `GET /review/login`: the login form (straight to the queue when
/// already logged in).
pub async fn login_form(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let next = param(&uri, "next").unwrap_or_default();
    let next = safe_next(&next).to_owned();
    let session = match session_of(&state, &headers) {
        Some(s) if s.account.is_some() => return redirect(&next),
        Some(s) => s,
        None => match state.review.sessions.start(None, Instant::now()) {
            Some(s) => s,
            None => return Problem::internal("no session could be started").into_response(),
        },
    };
    login_page(
        &state,
        &uri,
        &headers,
        &session,
        LoginShown {
            status: StatusCode::OK,
            next: &next,
            name: "",
            alert: String::new(),
        },
    )
}

/// `POST /review/login`: name and password checked against `accounts.toml`;
/// a new session for the account, or the form again (401), or 429 once the
/// failed logins of this address or this name pass `max_login_failures`.
pub async fn login(State(state): State<AppState>, request: Request) -> Response {
    let ip = client(&request);
    let (headers, uri, fields) = match form_of(request).await {
        Ok(f) => f,
        Err(response) => return response,
    };
    let lang = web::language(&uri, &headers);
    let tr = Tr::new(lang);
    let Some(session) = session_of(&state, &headers) else {
        // No session (expired, or cookies refused): start one, show the form.
        let Some(session) = state.review.sessions.start(None, Instant::now()) else {
            return Problem::internal("no session could be started").into_response();
        };
        let next = safe_next(field(&fields, "next")).to_owned();
        return login_page(
            &state,
            &uri,
            &headers,
            &session,
            LoginShown {
                status: StatusCode::FORBIDDEN,
                next: &next,
                name: "",
                alert: tr.t("review-session-expired"),
            },
        );
    };
    if !carries_token(&session, &fields) {
        return forged(lang);
    }
    let name = field(&fields, "name").trim().to_owned();
    let password = field(&fields, "password").to_owned();
    let next = safe_next(field(&fields, "next")).to_owned();
    let keys = vec![format!("ip:{ip}"), format!("name:{}", name.to_lowercase())];
    if let Some(secs) = state.review.limiter.wait(&keys, Instant::now()) {
        tracing::warn!(%ip, "login refused: too many failed logins");
        let alert = tr.num("review-too-many", "minutes", secs.div_ceil(60));
        let mut response = login_page(
            &state,
            &uri,
            &headers,
            &session,
            LoginShown {
                status: StatusCode::TOO_MANY_REQUESTS,
                next: &next,
                name: &name,
                alert,
            },
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return response;
    }
    let accounts = state.review.accounts();
    let checked_name = name.clone();
    let checked =
        tokio::task::spawn_blocking(move || accounts.check(&checked_name, &password)).await;
    let account = match checked {
        Ok(Ok(account)) => account,
        Ok(Err(e)) => return Problem::internal(e).into_response(),
        Err(e) => return Problem::internal(e).into_response(),
    };
    let Some(account) = account else {
        state.review.limiter.failed(&keys, Instant::now());
        state
            .review
            .audit(&audit_name(&name), "login-failed", format!("from {ip}"));
        return login_page(
            &state,
            &uri,
            &headers,
            &session,
            LoginShown {
                status: StatusCode::UNAUTHORIZED,
                next: &next,
                name: &name,
                alert: tr.t("review-login-failed"),
            },
        );
    };
    // A new id at login: a session id known before login is worth nothing after.
    state.review.sessions.end(&session.id);
    let Some(new) = state
        .review
        .sessions
        .start(Some(account.name.clone()), Instant::now())
    else {
        return Problem::internal("no session could be started").into_response();
    };
    state
        .review
        .audit(&account.name, "login", format!("from {ip}"));
    let mut response = redirect(&next);
    response
        .headers_mut()
        .insert(header::SET_COOKIE, state.review.cookie(&new.id));
    response
}

/// A name as entered, cut and cleaned for the audit log.
fn audit_name(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(64).collect()
}

/// `POST /review/logout`.
pub async fn logout(State(state): State<AppState>, request: Request) -> Response {
    let (headers, uri, fields) = match form_of(request).await {
        Ok(f) => f,
        Err(response) => return response,
    };
    let lang = web::language(&uri, &headers);
    if let Some(session) = session_of(&state, &headers) {
        if !carries_token(&session, &fields) {
            return forged(lang);
        }
        state.review.sessions.end(&session.id);
        if let Some(name) = &session.account {
            state.review.audit(name, "logout", String::new());
        }
    }
    let mut response = redirect(&format!("/review/login?lang={lang}"));
    response
        .headers_mut()
        .insert(header::SET_COOKIE, super::clear_cookie());
    response
}

// ---------------------------------------------------------------- queue

/// One initiative in the queue.
pub struct QueueRow {
    /// Its title.
    pub title: String,
    /// Its review page.
    pub href: String,
    /// Its country.
    pub country: String,
    /// Its level of action, labelled.
    pub level: String,
    /// Its state, labelled.
    pub state: String,
    /// Its current version.
    pub version: u64,
    /// Days since its current version, worded.
    pub age: String,
}

/// Initiatives in one state.
pub struct QueueGroup {
    /// Its id in the page.
    pub id: String,
    /// Its heading.
    pub heading: String,
    /// Its initiatives, oldest first.
    pub rows: Vec<QueueRow>,
}

/// The queue.
#[derive(Template)]
#[template(path = "review_queue.html")]
pub struct QueuePage {
    /// Header and navigation.
    pub page: Chrome,
    /// Who is logged in.
    pub user: UserView,
    /// What the queue is, with the level this node decides at.
    pub intro: String,
    /// The groups, those awaiting this node first.
    pub groups: Vec<QueueGroup>,
}

/// Whether this node decides on `i` now.
fn awaits_us(state: &AppState, i: &InitiativeState, role: Role) -> bool {
    i.awaits(role)
        && (role == Role::European || i.country.eq_ignore_ascii_case(&state.config.country))
}

fn role_of(state: &AppState) -> Role {
    match state.config.role {
        ccis_integrity::peers::Role::National => Role::National,
        ccis_integrity::peers::Role::European => Role::European,
    }
}

/// Days from `modified` (RFC 3339) to now.
fn age_days(modified: &str) -> i64 {
    time::OffsetDateTime::parse(modified, &time::format_description::well_known::Rfc3339)
        .map_or(0, |t| (time::OffsetDateTime::now_utc() - t).whole_days())
}

async fn derive_all(state: &AppState) -> Result<Vec<InitiativeState>, Response> {
    let (store, config, peers) = (
        state.store.clone(),
        state.config.clone(),
        state.peers.clone(),
    );
    match tokio::task::spawn_blocking(move || {
        ccis_node::validation::derive_initiatives(&store, &config, &peers)
    })
    .await
    {
        Ok(Ok(list)) => Ok(list),
        Ok(Err(e)) => Err(Problem::internal(e).into_response()),
        Err(e) => Err(Problem::internal(e).into_response()),
    }
}

/// `GET /review`: the queue.
pub async fn queue(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let (session, account) = match logged_in(&state, &headers, &uri) {
        Ok(who) => who,
        Err(response) => return *response,
    };
    let lang = web::language(&uri, &headers);
    let tr = Tr::new(lang);
    let labels = match web::labels(&state).await {
        Ok(l) => l,
        Err(response) => return response,
    };
    let list = match derive_all(&state).await {
        Ok(l) => l,
        Err(response) => return response,
    };
    let role = role_of(&state);
    let row = |i: &InitiativeState| QueueRow {
        title: i.title.clone().unwrap_or_else(|| i.iri.clone()),
        href: review_href(&i.iri, lang),
        country: i.country.clone(),
        level: labels.label(&i.level.iri(), lang),
        state: labels.label(&i.state.iri(), lang),
        version: i.version,
        age: tr.num(
            "review-days",
            "days",
            u64::try_from(age_days(&i.modified)).unwrap_or(0),
        ),
    };
    let mut groups = Vec::new();
    let mut awaiting: Vec<&InitiativeState> =
        list.iter().filter(|i| awaits_us(&state, i, role)).collect();
    awaiting.sort_by(|a, b| a.modified.cmp(&b.modified));
    groups.push(QueueGroup {
        id: "awaiting".into(),
        heading: tr.t("review-awaiting"),
        rows: awaiting.iter().map(|i| row(i)).collect(),
    });
    for s in WorkflowState::ALL {
        let mut rows: Vec<&InitiativeState> = list
            .iter()
            .filter(|i| i.state == s && !awaits_us(&state, i, role))
            .collect();
        if rows.is_empty() {
            continue;
        }
        rows.sort_by(|a, b| a.modified.cmp(&b.modified));
        groups.push(QueueGroup {
            id: s.notation().to_owned(),
            heading: labels.label(&s.iri(), lang),
            rows: rows.iter().map(|i| row(i)).collect(),
        });
    }
    let view = QueuePage {
        page: Chrome::new(&state, lang, &uri, "", tr.t("review-queue-title")),
        user: user_view(&account, &session.csrf, &tr),
        intro: tr.args(
            "review-queue-intro",
            &[("level", &labels.label(&role.iri(), lang))],
        ),
        groups,
    };
    let mut response = page(StatusCode::OK, lang, view.render());
    no_store(&mut response);
    response
}

fn review_href(iri: &str, lang: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("iri", iri).append_pair("lang", lang);
    format!("/review/initiative?{}", query.finish())
}

// ---------------------------------------------------------------- one initiative

/// One line of the history.
pub struct HistoryLine {
    /// When.
    pub at: String,
    /// What happened.
    pub text: String,
    /// A link to the signed decision, if it is one.
    pub href: Option<String>,
    /// Set when the decision does not apply to the current version: why.
    pub not_current: Option<String>,
}

/// One property changed between two versions.
pub struct ChangeView {
    /// The property, labelled.
    pub label: String,
    /// Its values removed.
    pub removed: Vec<String>,
    /// Its values added.
    pub added: Vec<String>,
}

/// One criterion of the checklist form.
pub struct CriterionView {
    /// Its index in the checklist (the form's field names).
    pub index: usize,
    /// Its label.
    pub label: String,
    /// Its guidance.
    pub guidance: String,
    /// The outcome entered (`passed`, `failed`, `cant-tell` or empty).
    pub outcome: String,
    /// The comment entered.
    pub comment: String,
}

/// One category of criteria.
pub struct CategoryView {
    /// Its label (empty for criteria in no category).
    pub label: String,
    /// Its criteria.
    pub criteria: Vec<CriterionView>,
}

/// A link to another checklist.
pub struct ChecklistLink {
    /// Its label.
    pub label: String,
    /// The page with it.
    pub href: String,
    /// Whether it is the one shown.
    pub current: bool,
}

/// The decision form, when this operator may decide now.
pub struct DecisionForm {
    /// The checklist's file name.
    pub checklist: String,
    /// Its label.
    pub checklist_label: String,
    /// The other checklists.
    pub checklists: Vec<ChecklistLink>,
    /// Its criteria by category.
    pub categories: Vec<CategoryView>,
    /// The outcome entered.
    pub outcome: String,
    /// The rationale entered.
    pub rationale: String,
}

/// The page of one initiative.
#[derive(Template)]
#[template(path = "review_initiative.html")]
pub struct InitiativePage {
    /// Header and navigation.
    pub page: Chrome,
    /// Who is logged in.
    pub user: UserView,
    /// The initiative's IRI.
    pub iri: String,
    /// Its public page.
    pub public_href: String,
    /// Its state, labelled.
    pub state: String,
    /// Its current version.
    pub version: u64,
    /// Its level, labelled.
    pub level: String,
    /// Its country.
    pub country: String,
    /// Its description.
    pub description: String,
    /// Its other fields.
    pub fields: Vec<Field>,
    /// The version the changes are shown from (0: none).
    pub diff_from: u64,
    /// Which versions the changes are between, worded.
    pub changes_since: String,
    /// What changed since then.
    pub changes: Vec<ChangeView>,
    /// Decisions and operator actions, oldest first.
    pub history: Vec<HistoryLine>,
    /// The form, when this operator may decide now.
    pub form: Option<DecisionForm>,
    /// Why there is no form.
    pub no_form: String,
    /// What happened (a decision signed) or went wrong.
    pub notice: String,
    /// Whether `notice` is an error.
    pub notice_is_error: bool,
}

/// What the form held when it was sent back with an error.
#[derive(Default)]
struct Entered {
    outcome: String,
    rationale: String,
    assessments: BTreeMap<usize, (String, String)>,
}

/// `GET /review/initiative?iri=…[&checklist=sim|csess][&from=N]`.
pub async fn initiative(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let (session, account) = match logged_in(&state, &headers, &uri) {
        Ok(who) => who,
        Err(response) => return *response,
    };
    let lang = web::language(&uri, &headers);
    let tr = Tr::new(lang);
    let notice = match param(&uri, "decided") {
        Some(iri) => tr.args("review-decided", &[("iri", &iri)]),
        None => String::new(),
    };
    let Some(iri) = param(&uri, "iri") else {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "no-iri",
            "which initiative? add ?iri=…",
        )
        .into_response();
    };
    let checklist = param(&uri, "checklist");
    render_initiative(
        &state,
        &uri,
        &headers,
        &session,
        &account,
        &iri,
        checklist.as_deref(),
        StatusCode::OK,
        (notice, false),
        Entered::default(),
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn render_initiative(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    session: &super::SessionView,
    account: &Account,
    iri: &str,
    checklist: Option<&str>,
    status: StatusCode,
    notice: (String, bool),
    entered: Entered,
) -> Response {
    let lang = web::language(uri, headers);
    let tr = Tr::new(lang);
    let labels = match web::labels(state).await {
        Ok(l) => l,
        Err(response) => return response,
    };
    let Ok(node) = NamedNode::new(iri) else {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-iri",
            format!("{iri:?} is not an IRI"),
        )
        .into_response();
    };
    let read = {
        let (store, config, peers) = (
            state.store.clone(),
            state.config.clone(),
            state.peers.clone(),
        );
        let dir = state.review.dir.clone();
        let from = param(uri, "from").and_then(|v| v.parse::<u64>().ok());
        tokio::task::spawn_blocking(move || {
            read_initiative(&store, &config, &peers, &dir, &node, from)
        })
        .await
    };
    let read = match read {
        Ok(Ok(Some(r))) => r,
        Ok(Ok(None)) => {
            return Problem::not_found(format!("<{iri}> is not an initiative this node holds"))
                .into_response();
        }
        Ok(Err(e)) => return Problem::internal(e).into_response(),
        Err(e) => return Problem::internal(e).into_response(),
    };
    let i = &read.initiative;
    let role = role_of(state);
    let mut history: Vec<(String, HistoryLine)> = Vec::new();
    for h in &i.decisions {
        let d = &h.decision;
        let text = tr.args(
            "validation-decision",
            &[
                ("role", &labels.label(&d.role.iri(), lang)),
                ("outcome", &labels.label(&d.outcome.iri(), lang)),
                ("version", &d.used.version.to_string()),
                ("date", &d.ended_at.date().to_string()),
            ],
        );
        let rationale = pick(&d.rationale, lang);
        let text = match record_page::validator_name(state, d.validator.as_str()) {
            Some(name) => format!("{text} — {name}"),
            None => text,
        };
        history.push((
            d.ended_at.to_string(),
            HistoryLine {
                at: d.ended_at.date().to_string(),
                text: format!("{text}: {rationale}"),
                href: Some(web::local_href(state, d.iri.as_str(), lang)),
                not_current: match &h.status {
                    DecisionStatus::Applies => None,
                    DecisionStatus::Refused(e) => Some(e.to_string()),
                    _ => Some(tr.t("validation-older")),
                },
            },
        ));
    }
    for e in &read.audit {
        history.push((
            e.at.clone(),
            HistoryLine {
                at: e.at.get(..10).unwrap_or(&e.at).to_owned(),
                text: tr.args(
                    "review-audit-line",
                    &[
                        ("operator", &e.operator),
                        ("action", &e.action),
                        ("version", &e.version.to_string()),
                    ],
                ),
                href: None,
                not_current: None,
            },
        ));
    }
    history.sort_by(|a, b| a.0.cmp(&b.0));
    let may_decide = account.role.can_decide();
    let awaits = awaits_us(state, i, role);
    let (form, no_form) = if !may_decide {
        (None, tr.t("review-no-form-role"))
    } else if !awaits {
        (
            None,
            tr.args(
                "review-no-form-state",
                &[
                    ("state", &labels.label(&i.state.iri(), lang)),
                    ("level", &labels.label(&role.iri(), lang)),
                ],
            ),
        )
    } else {
        match decision_form(&read.checklists, checklist, &entered, &tr, uri) {
            Some(f) => (Some(f), String::new()),
            None => (None, tr.t("review-no-checklist")),
        }
    };
    let changes = read
        .changes
        .iter()
        .map(|c| ChangeView {
            label: field_label(c.predicate.as_str(), &labels, &tr),
            removed: c.removed.iter().map(|t| shown(t, &labels, lang)).collect(),
            added: c.added.iter().map(|t| shown(t, &labels, lang)).collect(),
        })
        .collect();
    let title = i.title.clone().unwrap_or_else(|| i.iri.clone());
    let view = InitiativePage {
        page: Chrome::new(state, lang, uri, "", title),
        user: user_view(account, &session.csrf, &tr),
        iri: i.iri.clone(),
        public_href: web::local_href(state, &i.iri, lang),
        state: labels.label(&i.state.iri(), lang),
        version: i.version,
        level: labels.label(&i.level.iri(), lang),
        country: i.country.clone(),
        description: read.description,
        fields: record_page::fields(&read.signed.record, &labels, &tr),
        diff_from: read.diff_from,
        changes_since: tr.args(
            "review-changes-since",
            &[
                ("from", &read.diff_from.to_string()),
                ("to", &i.version.to_string()),
            ],
        ),
        changes,
        history: history.into_iter().map(|(_, h)| h).collect(),
        form,
        no_form,
        notice: notice.0,
        notice_is_error: notice.1,
    };
    let mut response = page(status, lang, view.render());
    no_store(&mut response);
    response
}

fn field_label(predicate: &str, labels: &Labels, tr: &Tr) -> String {
    let local = predicate.rsplit(['#', '/']).next().unwrap_or(predicate);
    let id = format!("field-{local}");
    if tr.has(&id) {
        return tr.t(&id);
    }
    if predicate == ccis_model::vocab::DCT_TITLE.as_str() {
        return tr.t("review-field-title");
    }
    labels.label(predicate, tr.lang)
}

fn shown(term: &oxrdf::Term, labels: &Labels, lang: &str) -> String {
    match term {
        oxrdf::Term::Literal(l) => match l.language() {
            Some(tag) => format!("{} ({tag})", l.value()),
            None => l.value().to_owned(),
        },
        oxrdf::Term::NamedNode(n) => labels
            .get(n.as_str(), lang)
            .map_or_else(|| n.as_str().to_owned(), ToOwned::to_owned),
        other => other.to_string(),
    }
}

fn decision_form(
    checklists: &[Checklist],
    wanted: Option<&str>,
    entered: &Entered,
    tr: &Tr,
    uri: &Uri,
) -> Option<DecisionForm> {
    let list = wanted
        .and_then(|w| checklists.iter().find(|c| c.name() == w || c.iri == w))
        .or_else(|| checklists.iter().find(|c| c.name() == "sim"))
        .or_else(|| checklists.first())?;
    let lang = tr.lang;
    let mut categories: Vec<CategoryView> = list
        .categories
        .iter()
        .map(|c| CategoryView {
            label: pick(&c.labels, lang),
            criteria: Vec::new(),
        })
        .collect();
    let mut loose = Vec::new();
    for (index, c) in list.criteria.iter().enumerate() {
        let (outcome, comment) = entered.assessments.get(&index).cloned().unwrap_or_default();
        let view = CriterionView {
            index,
            label: pick(&c.labels, lang),
            guidance: pick(&c.guidance, lang),
            outcome,
            comment,
        };
        match c
            .category
            .as_ref()
            .and_then(|cat| list.categories.iter().position(|k| &k.iri == cat))
        {
            Some(at) => categories[at].criteria.push(view),
            None => loose.push(view),
        }
    }
    if !loose.is_empty() {
        categories.insert(
            0,
            CategoryView {
                label: String::new(),
                criteria: loose,
            },
        );
    }
    categories.retain(|c| !c.criteria.is_empty());
    let checklists = checklists
        .iter()
        .map(|c| {
            let mut query = form_urlencoded::Serializer::new(String::new());
            query
                .append_pair("iri", &param(uri, "iri").unwrap_or_default())
                .append_pair("checklist", c.name())
                .append_pair("lang", lang);
            ChecklistLink {
                label: pick(&c.labels, lang),
                href: format!("/review/initiative?{}#decide", query.finish()),
                current: c.iri == list.iri,
            }
        })
        .collect();
    Some(DecisionForm {
        checklist: list.name().to_owned(),
        checklist_label: pick(&list.labels, lang),
        checklists,
        categories,
        outcome: entered.outcome.clone(),
        rationale: entered.rationale.clone(),
    })
}

/// What the page of one initiative reads, off the async threads.
struct ReadInitiative {
    initiative: InitiativeState,
    signed: ccis_integrity::signed::SignedRecord,
    description: String,
    checklists: Vec<Checklist>,
    audit: Vec<ccis_node::audit::AuditEntry>,
    diff_from: u64,
    changes: Vec<ccis_model::record_diff::PropertyChange>,
}

#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error(transparent)]
    Store(#[from] ccis_store::StoreError),
    #[error(transparent)]
    Audit(#[from] ccis_node::audit::AuditError),
    #[error(transparent)]
    Checklist(#[from] ccis_model::checklist::ChecklistError),
}

fn read_initiative(
    store: &ccis_store::NodeStore,
    config: &ccis_node::config::NodeConfig,
    peers: &ccis_integrity::peers::Peers,
    dir: &std::path::Path,
    iri: &NamedNode,
    from: Option<u64>,
) -> Result<Option<ReadInitiative>, ReadError> {
    let Some(initiative) = ccis_node::validation::derive_initiative(store, config, peers, iri)?
    else {
        return Ok(None);
    };
    let Some(signed) = store.get(iri)? else {
        return Ok(None);
    };
    let description = signed
        .record
        .triples
        .iter()
        .filter(|t| t.subject == oxrdf::NamedOrBlankNode::NamedNode(iri.clone()))
        .filter(|t| t.predicate.as_str() == "http://purl.org/dc/terms/description")
        .filter_map(|t| match &t.object {
            oxrdf::Term::Literal(l) => Some(l.value().to_owned()),
            _ => None,
        })
        .next()
        .unwrap_or_default();
    // Changes since the version last judged, else since the one before.
    let judged = initiative
        .decisions
        .iter()
        .map(|h| h.decision.used.version)
        .filter(|v| *v < initiative.version)
        .max();
    let diff_from = from
        .filter(|v| *v < initiative.version)
        .or(judged)
        .unwrap_or(initiative.version.saturating_sub(1));
    let mut changes = Vec::new();
    let mut shown_from = 0;
    if diff_from >= 1
        && let (Some(older), Some(newer)) = (
            store.version(iri, diff_from)?,
            store.version(iri, initiative.version)?,
        )
    {
        changes = ccis_model::record_diff::diff(&older, &newer);
        shown_from = diff_from;
    }
    let audit = AuditLog::of(dir).about(iri.as_str())?;
    Ok(Some(ReadInitiative {
        initiative,
        signed,
        description,
        checklists: ccis_model::checklist::builtin()?,
        audit,
        diff_from: shown_from,
        changes,
    }))
}

// ---------------------------------------------------------------- decide

/// `POST /review/decide`: signs the decision entered, in the name of the
/// operator logged in; back to the initiative with the decision's IRI, or
/// the form again with what was entered and why it was refused.
pub async fn decide(State(state): State<AppState>, request: Request) -> Response {
    let super::SentForm {
        headers,
        uri,
        fields,
        lang,
        session,
        account,
    } = match super::sent_form(&state, request).await {
        Ok(form) => form,
        Err(response) => return *response,
    };
    let tr = Tr::new(lang);
    let iri = field(&fields, "iri").to_owned();
    let checklist = field(&fields, "checklist").to_owned();
    if !account.role.can_decide() {
        return Problem::new(
            StatusCode::FORBIDDEN,
            "not-a-validator",
            tr.t("review-no-form-role"),
        )
        .into_response();
    }
    let mut entered = Entered {
        outcome: field(&fields, "outcome").to_owned(),
        rationale: field(&fields, "rationale").to_owned(),
        assessments: BTreeMap::new(),
    };
    for (k, v) in &fields {
        if let Some(n) = k.strip_prefix("a-").and_then(|n| n.parse::<usize>().ok()) {
            entered.assessments.entry(n).or_default().0 = v.clone();
        }
        if let Some(n) = k.strip_prefix("c-").and_then(|n| n.parse::<usize>().ok()) {
            entered.assessments.entry(n).or_default().1 = v.clone();
        }
    }
    let refuse = |status: StatusCode, message: String, entered: Entered| {
        let (state, uri, headers, session, account, iri, checklist) = (
            &state,
            &uri,
            &headers,
            &session,
            &account,
            iri.clone(),
            checklist.clone(),
        );
        async move {
            render_initiative(
                state,
                uri,
                headers,
                session,
                account,
                &iri,
                Some(&checklist),
                status,
                (message, true),
                entered,
            )
            .await
        }
    };
    let request = match decision_request(&fields, &entered, &account, lang) {
        Ok(r) => r,
        Err(message) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, message, entered).await,
    };
    let node = state.node.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let node = node.lock().map_err(|_| None)?;
        node.decide(&request).map_err(Some)
    })
    .await;
    match outcome {
        Ok(Ok((published, _))) => {
            let mut query = form_urlencoded::Serializer::new(String::new());
            query
                .append_pair("iri", &iri)
                .append_pair("decided", &published.iri)
                .append_pair("lang", lang);
            redirect(&format!("/review/initiative?{}", query.finish()))
        }
        Ok(Err(Some(e))) => {
            let status = match &e {
                NodeError::Validation(
                    ValidationError::Illegal { .. } | ValidationError::VersionChanged { .. },
                ) => StatusCode::CONFLICT,
                NodeError::Validation(_) | NodeError::NotAnIri(_) | NodeError::Refused(_) => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                _ => {
                    tracing::error!(error = %e, "a decision failed");
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            };
            refuse(status, e.to_string(), entered).await
        }
        Ok(Err(None)) => Problem::internal("a writer panicked; restart the node").into_response(),
        Err(e) => Problem::internal(e).into_response(),
    }
}

fn decision_request(
    fields: &[(String, String)],
    entered: &Entered,
    account: &Account,
    lang: &str,
) -> Result<DecisionRequest, String> {
    let tr = Tr::new(lang);
    let outcome = Outcome::ALL
        .into_iter()
        .find(|o| o.notation() == entered.outcome)
        .ok_or_else(|| tr.t("review-choose-outcome"))?;
    let checklists = ccis_model::checklist::builtin().map_err(|e| e.to_string())?;
    let name = field(fields, "checklist");
    let list = checklists
        .iter()
        .find(|c| c.name() == name)
        .ok_or_else(|| format!("no checklist {name:?}"))?;
    let mut assessments = Vec::new();
    let mut missing = Vec::new();
    for (index, criterion) in list.criteria.iter().enumerate() {
        let (outcome, comment) = entered.assessments.get(&index).cloned().unwrap_or_default();
        let outcome = match outcome.as_str() {
            "passed" => CriterionOutcome::Passed,
            "failed" => CriterionOutcome::Failed,
            "cant-tell" => CriterionOutcome::CantTell,
            _ => {
                missing.push(pick(&criterion.labels, lang));
                continue;
            }
        };
        let comment: Texts = if comment.trim().is_empty() {
            Texts::new()
        } else {
            Texts::from([(lang.to_owned(), comment.trim().to_owned())])
        };
        assessments.push((criterion.iri.clone(), outcome, comment));
    }
    if !missing.is_empty() {
        return Err(tr.args("review-unassessed", &[("criteria", &missing.join("; "))]));
    }
    let version = field(fields, "version").parse::<u64>().ok();
    Ok(DecisionRequest {
        initiative: field(fields, "iri").to_owned(),
        outcome,
        rationale: Texts::from([(lang.to_owned(), entered.rationale.trim().to_owned())]),
        checklist: Some(list.iri.clone()),
        assessments,
        operator: account.name.clone(),
        version,
    })
}
