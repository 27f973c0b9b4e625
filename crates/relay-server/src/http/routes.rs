//! A router that remembers what it routes: each route is added with its method and path, both
//! of which go into the axum [`Router`] and into a table, so the table cannot drift from what
//! is served.

use axum::{
    Router,
    handler::Handler,
    http::Method,
    routing::{MethodFilter, on},
};

use super::AppState;

/// Routes under construction, with their table.
pub(super) struct Routes {
    router: Router<AppState>,
    table: Vec<(Method, &'static str)>,
}

impl Routes {
    /// No routes.
    pub(super) fn new() -> Self {
        Routes { router: Router::new(), table: Vec::new() }
    }

    /// Routes `method path` to `handler`.
    ///
    /// # Panics
    /// At start-up, for a method axum cannot filter on or a route added twice (a programming
    /// error that the route-table test catches).
    pub(super) fn add<H, T>(mut self, method: Method, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a method axum can route");
        self.router = self.router.route(path, on(filter, handler));
        self.table.push((method, path));
        self
    }

    /// `GET path`.
    pub(super) fn get<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add(Method::GET, path, handler)
    }

    /// `POST path`.
    pub(super) fn post<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add(Method::POST, path, handler)
    }

    /// `PATCH path`.
    pub(super) fn patch<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add(Method::PATCH, path, handler)
    }

    /// `DELETE path`.
    pub(super) fn delete<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add(Method::DELETE, path, handler)
    }

    /// Both sets of routes.
    pub(super) fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.table.extend(other.table);
        self
    }

    /// The table: `(method, path)` of every route, in the order added.
    pub(super) fn table(&self) -> &[(Method, &'static str)] {
        &self.table
    }

    /// The router.
    pub(super) fn into_router(self) -> Router<AppState> {
        self.router
    }
}
