//! Submissions on the validators' pages: the proposals waiting for the
//! centre (`GET /review/submissions`), one with its submitter's contact
//! (`GET /review/submission?id=…`), and accepting (publishing it as the
//! node's record, under the node's lock like `ccis submission accept`, with
//! the running server), rejecting or erasing the submitter's contact
//! (`POST /review/submission`). The operator who accepts is written to the
//! audit log: by the four-eyes rule another operator decides on it.

use super::{field, logged_in, redirect};
use crate::AppState;
use crate::problem::Problem;
use crate::web::i18n::Tr;
use crate::web::record_page::{self, Field};
use crate::web::{self, Chrome, page};
use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use ccis_node::submissions::{self, Submission, SubmissionError};
use time::OffsetDateTime;

/// One submission in the list.
pub struct SubmissionRow {
    /// Its page.
    pub href: String,
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// The lead organisation, if given.
    pub organisation: String,
    /// Days since it was received, worded.
    pub age: String,
}

/// The list of submissions.
#[derive(Template)]
#[template(path = "review_submissions.html")]
pub struct SubmissionsPage {
    /// Header and navigation.
    pub page: Chrome,
    /// Who is logged in.
    pub user: super::pages::UserView,
    /// The submissions, oldest first.
    pub rows: Vec<SubmissionRow>,
    /// What the list is.
    pub intro: String,
    /// What happened, if anything.
    pub notice: String,
}

/// One submission.
#[derive(Template)]
#[template(path = "review_submission.html")]
pub struct SubmissionPage {
    /// Header and navigation.
    pub page: Chrome,
    /// Who is logged in.
    pub user: super::pages::UserView,
    /// Its id.
    pub id: String,
    /// When it was received.
    pub received: String,
    /// The submitter's name and address ("erased" once erased).
    pub contact: String,
    /// Whether the contact is still held.
    pub has_contact: bool,
    /// The slug proposed, if any.
    pub slug: String,
    /// The proposal's fields.
    pub fields: Vec<Field>,
    /// What went wrong, if anything.
    pub alert: String,
}

fn not_found(id: &str) -> Response {
    Problem::not_found(format!(
        "no submission {id:?} (accepted, rejected or expired?)"
    ))
    .into_response()
}

/// The pending submissions, the expired ones deleted first.
async fn pending(state: &AppState) -> Result<Vec<Submission>, Response> {
    let store = state.intake.store().clone();
    let days = state.config.submissions.expire_days;
    let listed = tokio::task::spawn_blocking(move || {
        store.expire(days, OffsetDateTime::now_utc())?;
        store.list()
    })
    .await;
    match listed {
        Ok(Ok(mut list)) => {
            list.sort_by(|a, b| a.received_at.cmp(&b.received_at));
            Ok(list)
        }
        Ok(Err(e)) => Err(Problem::internal(e).into_response()),
        Err(e) => Err(Problem::internal(e).into_response()),
    }
}

/// `GET /review/submissions`.
pub async fn list(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let (session, account) = match logged_in(&state, &headers, &uri) {
        Ok(who) => who,
        Err(response) => return *response,
    };
    let lang = web::language(&uri, &headers);
    let tr = Tr::new(lang);
    let list = match pending(&state).await {
        Ok(l) => l,
        Err(response) => return response,
    };
    let now = OffsetDateTime::now_utc();
    let notice = match super::pages::param(&uri, "done").as_deref() {
        Some("rejected") => tr.t("review-submission-rejected"),
        _ => String::new(),
    };
    let view = SubmissionsPage {
        page: Chrome::new(&state, lang, &uri, "", tr.t("review-submissions-title")),
        user: super::pages::user_view(&account, &session.csrf, &tr),
        rows: list
            .iter()
            .map(|s| SubmissionRow {
                href: format!("/review/submission?id={}&lang={lang}", s.id),
                id: s.id.clone(),
                title: s.title.clone(),
                organisation: s.organisation.clone().unwrap_or_default(),
                age: tr.num(
                    "review-days",
                    "days",
                    u64::try_from(s.age_days(now)).unwrap_or(0),
                ),
            })
            .collect(),
        intro: tr.num(
            "review-submissions-intro",
            "days",
            state.config.submissions.expire_days,
        ),
        notice,
    };
    let mut response = page(StatusCode::OK, lang, view.render());
    super::pages::no_store(&mut response);
    response
}

async fn one(state: &AppState, id: &str) -> Result<Submission, Response> {
    if !submissions::is_id(id) {
        return Err(not_found(id));
    }
    let store = state.intake.store().clone();
    let wanted = id.to_owned();
    match tokio::task::spawn_blocking(move || store.get(&wanted)).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(SubmissionError::NotFound(_))) => Err(not_found(id)),
        Ok(Err(e)) => Err(Problem::internal(e).into_response()),
        Err(e) => Err(Problem::internal(e).into_response()),
    }
}

/// `GET /review/submission?id=…`.
pub async fn show(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let id = super::pages::param(&uri, "id").unwrap_or_default();
    render(&state, &uri, &headers, &id, StatusCode::OK, String::new()).await
}

async fn render(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    id: &str,
    status: StatusCode,
    alert: String,
) -> Response {
    let (session, account) = match logged_in(state, headers, uri) {
        Ok(who) => who,
        Err(response) => return *response,
    };
    let lang = web::language(uri, headers);
    let tr = Tr::new(lang);
    let submission = match one(state, id).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let labels = match web::labels(state).await {
        Ok(l) => l,
        Err(response) => return response,
    };
    let fields = match submission.proposal(&state.config.base_url) {
        Ok(record) => record_page::fields(&record, &labels, &tr),
        Err(e) => return Problem::internal(e).into_response(),
    };
    let contact = match &submission.contact {
        Some(c) => format!("{} <{}>", c.name, c.email),
        None => tr.t("review-contact-erased"),
    };
    let view = SubmissionPage {
        page: Chrome::new(state, lang, uri, "", submission.title.clone()),
        user: super::pages::user_view(&account, &session.csrf, &tr),
        id: submission.id.clone(),
        received: submission.received_at.clone(),
        has_contact: submission.contact.is_some(),
        contact,
        slug: submission.slug.clone().unwrap_or_default(),
        fields,
        alert,
    };
    let mut response = page(status, lang, view.render());
    super::pages::no_store(&mut response);
    response
}

/// `POST /review/submission`: `action=accept` (with an optional `slug`),
/// `reject` or `erase` the submission `id`.
pub async fn act(State(state): State<AppState>, request: Request) -> Response {
    let super::SentForm {
        headers,
        uri,
        fields,
        lang,
        account,
        ..
    } = match super::sent_form(&state, request).await {
        Ok(form) => form,
        Err(response) => return *response,
    };
    let id = field(&fields, "id").to_owned();
    if let Err(response) = one(&state, &id).await {
        return response;
    }
    let store = state.intake.store().clone();
    match field(&fields, "action") {
        "accept" => {
            let slug = Some(field(&fields, "slug").trim().to_owned()).filter(|s| !s.is_empty());
            let node = state.node.clone();
            let operator = account.name.clone();
            let wanted = id.clone();
            let accepted = tokio::task::spawn_blocking(move || {
                let node = node
                    .lock()
                    .map_err(|_| "a writer panicked; restart the node".to_owned())?;
                let published = submissions::accept(&node, &store, &wanted, slug.as_deref())
                    .map_err(|e| e.to_string())?;
                node.audit(
                    &operator,
                    "accept-submission",
                    std::slice::from_ref(&published),
                )
                .map_err(|e| e.to_string())?;
                Ok::<_, String>(published)
            })
            .await;
            match accepted {
                Ok(Ok(published)) => {
                    let mut query = form_urlencoded::Serializer::new(String::new());
                    query
                        .append_pair("iri", &published.iri)
                        .append_pair("lang", lang);
                    redirect(&format!("/review/initiative?{}", query.finish()))
                }
                Ok(Err(e)) => {
                    render(
                        &state,
                        &uri,
                        &headers,
                        &id,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        e,
                    )
                    .await
                }
                Err(e) => Problem::internal(e).into_response(),
            }
        }
        "reject" => {
            let reason = Some(field(&fields, "reason").trim().to_owned()).filter(|r| !r.is_empty());
            let config = state.config.clone();
            let rejected = tokio::task::spawn_blocking(move || {
                submissions::reject(&config, &store, &id, reason.as_deref())
            })
            .await;
            match rejected {
                Ok(Ok(())) => {
                    state
                        .review
                        .audit(&account.name, "reject-submission", String::new());
                    redirect(&format!("/review/submissions?done=rejected&lang={lang}"))
                }
                Ok(Err(e)) => Problem::internal(e).into_response(),
                Err(e) => Problem::internal(e).into_response(),
            }
        }
        "erase" => {
            let wanted = id.clone();
            match tokio::task::spawn_blocking(move || {
                store.erase_contact(&wanted, OffsetDateTime::now_utc())
            })
            .await
            {
                Ok(Ok(_)) => {
                    state
                        .review
                        .audit(&account.name, "erase-contact", format!("submission {id}"));
                    redirect(&format!("/review/submission?id={id}&lang={lang}"))
                }
                Ok(Err(e)) => Problem::internal(e).into_response(),
                Err(e) => Problem::internal(e).into_response(),
            }
        }
        other => Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-action",
            format!("action {other:?} is not accept, reject or erase"),
        )
        .into_response(),
    }
}
