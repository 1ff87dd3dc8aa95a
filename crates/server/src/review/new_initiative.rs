//! Creating an initiative on the validators' pages (`GET` and
//! `POST /review/new`, editors and administrators): the fields of the
//! public form without a submitter, published as the node's own signed
//! record through the same pipeline as `ccis publish` (shapes, version,
//! signature), in the name of the operator logged in, who is then its
//! editor in the audit log (four eyes).

use super::{logged_in, redirect};
use crate::AppState;
use crate::problem::Problem;
use crate::submit::{FieldView, form_fields};
use crate::web::i18n::Tr;
use crate::web::{self, Chrome, page};
use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use ccis_model::record;
use ccis_node::accounts::Account;
use ccis_node::submissions::{self, FieldError, Proposal};
use oxrdf::NamedNode;

/// The page of a new initiative.
#[derive(Template)]
#[template(path = "review_new.html")]
pub struct NewPage {
    /// Header and navigation.
    pub page: Chrome,
    /// Who is logged in.
    pub user: super::pages::UserView,
    /// Whether the account may create initiatives.
    pub may_edit: bool,
    /// The form's fields.
    pub fields: Vec<FieldView>,
    /// What went wrong, if anything.
    pub alert: String,
}

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    session: &super::SessionView,
    account: &Account,
    proposal: &Proposal,
    errors: &[FieldError],
    status: StatusCode,
    alert: String,
) -> Response {
    let lang = web::language(uri, headers);
    let tr = Tr::new(lang);
    let labels = match web::labels(state).await {
        Ok(l) => l,
        Err(response) => return response,
    };
    let may_edit = account.role.can_edit();
    let alert = if may_edit || !alert.is_empty() {
        alert
    } else {
        tr.t("review-new-role")
    };
    let view = NewPage {
        page: Chrome::new(state, lang, uri, "", tr.t("review-new-title")),
        user: super::pages::user_view(account, &session.csrf, &tr),
        may_edit,
        fields: form_fields(&labels, lang, proposal, errors, false),
        alert,
    };
    let mut response = page(status, lang, view.render());
    super::pages::no_store(&mut response);
    response
}

/// `GET /review/new`: the form.
pub async fn form(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let (session, account) = match logged_in(&state, &headers, &uri) {
        Ok(who) => who,
        Err(response) => return *response,
    };
    let status = if account.role.can_edit() {
        StatusCode::OK
    } else {
        StatusCode::FORBIDDEN
    };
    render(
        &state,
        &uri,
        &headers,
        &session,
        &account,
        &Proposal::default(),
        &[],
        status,
        String::new(),
    )
    .await
}

/// `POST /review/new`: publishes the initiative; to its review page, or the
/// form again with the errors beside the fields.
pub async fn create(State(state): State<AppState>, request: Request) -> Response {
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
    if !account.role.can_edit() {
        return Problem::new(
            StatusCode::FORBIDDEN,
            "not-an-editor",
            tr.t("review-new-role"),
        )
        .into_response();
    }
    let proposal = Proposal::from_pairs(fields);
    let refuse = |errors: Vec<FieldError>, alert: String, status: StatusCode| {
        let (state, uri, headers, session, account, proposal) =
            (&state, &uri, &headers, &session, &account, &proposal);
        async move {
            render(
                state, uri, headers, session, account, proposal, &errors, status, alert,
            )
            .await
        }
    };
    let slug = match proposal.slug() {
        Ok(Some(s)) => s,
        Ok(None) => submissions::slugify(proposal.get("title")),
        Err(e) => {
            return refuse(
                vec![e],
                tr.t("submit-has-errors"),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let iri = match NamedNode::new(state.config.record_iri(&slug)) {
        Ok(iri) if record::is_slug(&slug) => iri,
        _ => {
            let e = FieldError::new(
                "slug",
                "invalid",
                "lowercase letters, digits and dashes only",
            );
            return refuse(
                vec![e],
                tr.t("submit-has-errors"),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let record = match proposal.operator_record(&iri, &state.config.country_iri()) {
        Ok(r) => r,
        Err(errors) => {
            return refuse(
                errors,
                tr.t("submit-has-errors"),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let node = state.node.clone();
    let operator = account.name.clone();
    let published = tokio::task::spawn_blocking(move || {
        let node = node
            .lock()
            .map_err(|_| "a writer panicked; restart the node".to_owned())?;
        let held = node.store.get(&record.iri).map_err(|e| e.to_string())?;
        if held.is_some() {
            return Err(format!(
                "<{}> exists already: choose another address (records/…)",
                record.iri.as_str()
            ));
        }
        let published = node.publish(vec![record]).map_err(|e| e.to_string())?;
        node.audit(&operator, "publish", &published)
            .map_err(|e| e.to_string())?;
        Ok(published)
    })
    .await;
    match published {
        Ok(Ok(published)) => match published.first() {
            Some(p) => {
                let mut query = form_urlencoded::Serializer::new(String::new());
                query.append_pair("iri", &p.iri).append_pair("lang", lang);
                redirect(&format!("/review/initiative?{}", query.finish()))
            }
            None => Problem::internal("nothing was published").into_response(),
        },
        Ok(Err(message)) => refuse(Vec::new(), message, StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(e) => Problem::internal(e).into_response(),
    }
}
