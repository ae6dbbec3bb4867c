//! Every example in spec/ validates against its own schema, through the compiled-in validators
//! (the bundled openapi.json carries the examples next to the schemas they illustrate).

use serde_json::Value;

fn operations() -> Vec<(String, Value)> {
    let doc: Value = serde_json::from_str(oxident_api::OPENAPI_JSON).expect("bundle is JSON");
    let mut out = Vec::new();
    for (_, item) in doc["paths"].as_object().expect("paths") {
        for (_, op) in item.as_object().expect("path item") {
            out.push((
                op["operationId"].as_str().expect("id").to_string(),
                op.clone(),
            ));
        }
    }
    out
}

#[test]
fn response_examples_validate() {
    let mut checked = 0;
    for (id, op) in operations() {
        for (status, response) in op["responses"].as_object().expect("responses") {
            let Some(example) = response.pointer("/content/application~1json/example") else {
                continue;
            };
            let status: u16 = status.parse().expect("numeric status in our spec");
            let verdict = oxident_api::validate::response(&id, status, example)
                .unwrap_or_else(|e| panic!("{id} {status}: {e}"));
            assert!(
                verdict.is_ok(),
                "{id} {status}: example is invalid: {verdict:?}"
            );
            checked += 1;
        }
    }
    assert!(checked > 80, "only {checked} response examples found");
}

#[test]
fn request_examples_validate() {
    let mut checked = 0;
    for (id, op) in operations() {
        if let Some(example) = op.pointer("/requestBody/content/application~1json/schema/example") {
            let verdict = oxident_api::validate::request(&id, example).expect("has a body");
            assert!(
                verdict.is_ok(),
                "{id}: request example is invalid: {verdict:?}"
            );
            checked += 1;
        }
        let params: serde_json::Map<String, Value> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| Some((p["name"].as_str()?.to_string(), p.get("example")?.clone())))
            .collect();
        if !params.is_empty() {
            let verdict = oxident_api::validate::request_params(&id, &Value::Object(params))
                .expect("has params");
            assert!(
                verdict.is_ok(),
                "{id}: parameter examples are invalid: {verdict:?}"
            );
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} request examples found");
}

#[test]
fn a_broken_example_would_be_caught() {
    let bad = serde_json::json!({"sid": 1234});
    let verdict = oxident_api::validate::request("bindV2", &bad).expect("known op");
    let errors = verdict.expect_err("invalid");
    let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
    assert!(
        pointers.contains(&"/sid") && pointers.contains(&"/mxid"),
        "{pointers:?}"
    );
}
