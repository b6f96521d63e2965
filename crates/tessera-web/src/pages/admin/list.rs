//! The multi-factor authentication page: the user list with filter, search, paging and a
//! selection that spans pages (see [`super::selection`]). `GET` shows a page from a link;
//! the page's form posts back here to page, filter, select all on the page or clear the
//! selection, and to the quick steps ([`super::quick_steps`]).

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use tessera_core::CoreError;
use tessera_core::access::{Action, TargetKind};
use tessera_core::audit::Page;
use tessera_core::ids::UserId;
use tessera_core::user::User;

use super::super::csrf::AdminForm;
use super::super::views::page;
use super::fields::Fields;
use super::selection::{ListState, Selection};
use super::views::{ListFields, MfaListPage, UserRow, methods_text, role_label, state_label};
use super::{AdminPage, Section};
use crate::{App, Backend};

/// Users per page.
pub(crate) const PAGE_SIZE: u32 = 50;

pub(super) fn router<S: Backend>() -> Router<App<S>> {
    Router::new().route("/admin/{tenant}/mfa", get(list_page).post(list_post))
}

/// `GET /admin/{tenant}/mfa?status=&search=&cursor=&prev=`.
async fn list_page<S: Backend>(State(app): State<App<S>>, admin: AdminPage, Query(q): Query<Fields>) -> Response {
    render(&app, &admin, ListState::from_fields(&q), &Selection::default(), None, StatusCode::OK).await
}

/// `POST /admin/{tenant}/mfa`: the page's own buttons (`op`).
async fn list_post<S: Backend>(State(app): State<App<S>>, AdminForm { admin, form }: AdminForm<Fields>) -> Response {
    let mut state = ListState::from_page_form(&form);
    let mut selection = Selection::from_fields(&form);
    match form.get("op").unwrap_or("update") {
        "filter" => state = ListState::from_filter_form(&form),
        "next" => state.next(form.get("next").unwrap_or_default()),
        "prev" => state.previous(),
        "select-page" => selection.extend(form.all("shown").filter_map(UserId::parse)),
        "clear" => selection.clear(),
        _ => {}
    }
    render(&app, &admin, state, &selection, None, StatusCode::OK).await
}

/// Renders one page of the list with `selection` (and an error above it).
pub(super) async fn render<S: Backend>(
    app: &App<S>,
    admin: &AdminPage,
    mut state: ListState,
    selection: &Selection,
    mut error: Option<String>,
    status: StatusCode,
) -> Response {
    async fn list<S: Backend>(app: &App<S>, admin: &AdminPage, s: &ListState) -> Result<Page<User>, CoreError> {
        app.list_users(&admin.actor, s.status, Some(&s.search), Some(PAGE_SIZE), s.cursor.as_deref()).await
    }
    let users = match list(app, admin, &state).await {
        Ok(p) => p,
        // A cursor that is not one of ours: back to page 1.
        Err(CoreError::InvalidCursor(_)) => {
            state.cursor = None;
            state.prev.clear();
            error.get_or_insert_with(|| "That page link is not valid; this is page 1.".into());
            match list(app, admin, &state).await {
                Ok(p) => p,
                Err(e) => return admin.refused(e),
            }
        }
        Err(e) => return admin.refused(e),
    };
    let on_page: Vec<UserId> = users.items.iter().map(|u| u.id).collect();
    let rows = users.items.into_iter().map(|u| row(u, selection)).collect();
    let others = selection.ids().iter().filter(|id| !on_page.contains(id)).map(ToString::to_string).collect();
    let p = MfaListPage {
        tenant: admin.tenant.clone(),
        chrome: admin.chrome(Section::Mfa),
        list: ListFields::from(&state),
        page: state.page_number(),
        next: users.next,
        rows,
        others,
        selected: selection.len(),
        may_state: admin.may(Action::SetMfaState, TargetKind::User),
        may_manage: admin.may(Action::ManageMethods, TargetKind::User),
        error,
    };
    page(status, &p)
}

pub(super) fn row(u: User, selection: &Selection) -> UserRow {
    UserRow {
        checked: selection.contains(u.id),
        id: u.id.to_string(),
        upn: u.upn.to_string(),
        state: u.per_user_mfa_state.as_str(),
        state_label: state_label(u.per_user_mfa_state),
        methods: methods_text(&u.methods),
        roles: u.roles.iter().map(|r| role_label(*r)).collect::<Vec<_>>().join(", "),
        name: u.display_name,
    }
}
