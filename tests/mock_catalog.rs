//! The built-in cost catalog (catalog/layers-costs.yaml) and the Layers mock's route table
//! describe the same API: each costly endpoint of the catalog is a route the mock serves
//! (same method, same path shape) with the same costs, and each route the mock marks as
//! costly is in the catalog. A route added to one and forgotten in the other fails here.

use layers_mock::{RouteSpec, route_table};
use runner::safety::Catalog;
use runner::safety::pattern::{EndpointPattern, Methods, PathShape};

/// Catalog entries for parts of the real API the mock does not serve, each with why.
/// An entry here that the mock starts to serve fails the test, so the list cannot go stale.
const NOT_IN_THE_MOCK: &[(&str, &str)] = &[
    (
        "POST /v1/projects/{projectId}/content/{builder}",
        "the builder endpoints are not mocked; content is created with POST .../content",
    ),
    (
        "POST|PUT|PATCH|DELETE /v1/projects/{projectId}/ads/**",
        "a guard over every ads write; the mock serves ads reads only",
    ),
    (
        "POST|PUT|PATCH|DELETE /v1/ads/**",
        "a guard over every ads write; the mock serves ads reads only",
    ),
];

/// `POST /v1/projects/{projectId}/content` → `POST /v1/projects/{}/content`: parameter
/// names differ between the catalog and the mock and do not matter.
fn shape(text: &str) -> String {
    text.split('/')
        .map(|s| if s.starts_with('{') { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

fn route_text(route: &RouteSpec) -> String {
    format!("{} /v1{}", route.verb.as_str(), route.path)
}

/// A concrete request to `route`, parameters filled in.
fn request_path(route: &RouteSpec) -> PathShape {
    let path = shape(&format!("/v1{}", route.path)).replace("{}", "x1");
    let url = url::Url::parse(&format!("http://mock.test{path}")).unwrap_or_else(|e| panic!("{e}"));
    PathShape::of_url(&url)
}

fn mock_route_for<'r>(pattern: &EndpointPattern, routes: &'r [RouteSpec]) -> Option<&'r RouteSpec> {
    routes
        .iter()
        .find(|r| shape(&route_text(r)) == shape(&pattern.text))
}

#[test]
fn every_catalog_endpoint_is_a_mock_route_with_the_same_costs() {
    let catalog = Catalog::builtin();
    let routes = route_table();
    assert!(!catalog.endpoints.is_empty());
    for entry in &catalog.endpoints {
        let found = mock_route_for(&entry.pattern, routes);
        let excused = NOT_IN_THE_MOCK
            .iter()
            .find(|(t, _)| *t == entry.pattern.text);
        match (found, excused) {
            (Some(route), None) => {
                let mut theirs: Vec<&str> = entry.costs.iter().map(String::as_str).collect();
                let mut ours = route.costs.to_vec();
                theirs.sort_unstable();
                ours.sort_unstable();
                assert_eq!(ours, theirs, "costs of {}", entry.pattern.text);
            }
            (None, Some(_)) => {}
            (None, None) => panic!(
                "catalog entry `{}` ({}) names no route of the mock: add the route, or list it in NOT_IN_THE_MOCK with why",
                entry.pattern.text, entry.source
            ),
            (Some(route), Some(_)) => panic!(
                "`{}` is in NOT_IN_THE_MOCK but the mock serves it: take it off the list",
                route_text(route)
            ),
        }
        if let Some(cancel) = &entry.cancel {
            assert!(
                mock_route_for(cancel, routes).is_some(),
                "the cancel request `{}` of `{}` is no route of the mock",
                cancel.text,
                entry.pattern.text
            );
        }
    }
    for (text, _) in NOT_IN_THE_MOCK {
        assert!(
            catalog.endpoints.iter().any(|e| e.pattern.text == *text),
            "NOT_IN_THE_MOCK names `{text}`, which the catalog no longer has"
        );
    }
}

#[test]
fn every_costly_mock_route_is_in_the_catalog() {
    let catalog = Catalog::builtin();
    let mut costly = 0;
    for route in route_table() {
        let path = request_path(route);
        let matching = catalog.matching(route.verb.as_str(), &path);
        let mut theirs: Vec<&str> = matching
            .flat_map(|e| e.costs.iter().map(String::as_str))
            .collect();
        theirs.sort_unstable();
        theirs.dedup();
        let mut ours = route.costs.to_vec();
        ours.sort_unstable();
        assert_eq!(ours, theirs, "costs of {}", route_text(route));
        costly += usize::from(!route.costs.is_empty());
    }
    // The comparison above must have had something to compare.
    assert!(costly >= 10, "only {costly} costly routes");
}

/// The shape comparison itself: a different method or path shape is a different endpoint.
#[test]
fn shapes_compare_method_and_path_only() {
    let same = [
        (
            "POST /v1/projects/{projectId}/content",
            "POST /v1/projects/{id}/content",
        ),
        ("DELETE /v1/api-keys/{keyId}", "DELETE /v1/api-keys/{id}"),
    ];
    for (a, b) in same {
        assert_eq!(shape(a), shape(b), "{a} / {b}");
    }
    let different = [
        (
            "POST /v1/projects/{projectId}/content",
            "GET /v1/projects/{id}/content",
        ),
        (
            "POST /v1/projects/{projectId}/content",
            "POST /v1/projects/content",
        ),
        (
            "POST /v1/content/{id}/publish",
            "POST /v1/content/{id}/schedule",
        ),
    ];
    for (a, b) in different {
        assert_ne!(shape(a), shape(b), "{a} / {b}");
    }
    // A catalog pattern that lists several methods is never one mock route.
    let pattern = EndpointPattern::parse("POST|DELETE /v1/api-keys/{keyId}")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(&pattern.methods, Methods::These(m) if m.len() == 2));
    assert!(mock_route_for(&pattern, route_table()).is_none());
}
