//! Tool schemas that strict JSON Schema validators accept without a word.
//!
//! schemars annotates integers with its own `format`s (`uint32`, `uint64`, `int64`,
//! `double`, ...). They are not JSON Schema 2020-12 formats: ajv (what the TypeScript
//! SDK and the editors built on it compile schemas with) logs `unknown format "uint64"
//! ignored` for each one, and a strict validator refuses them. The range they mean is
//! already stated by `minimum: 0`, which schemars writes beside the unsigned ones, so
//! the format is dropped; standard formats (`date-time`, `uri`, ...) stay.

use rmcp::model::JsonObject;
use serde_json::Value;

/// The formats JSON Schema 2020-12 defines (Validation, section 7.3).
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// Rewrites `schema` in place: every non-standard `format` is removed, and an unsigned
/// one leaves `minimum: 0` behind when schemars did not write it.
pub fn make_strict(schema: &mut JsonObject) {
    if let Some(Value::String(format)) = schema.get("format") {
        if !STANDARD_FORMATS.contains(&format.as_str()) {
            let unsigned = format.starts_with("uint");
            schema.remove("format");
            if unsigned && !schema.contains_key("minimum") {
                schema.insert("minimum".into(), Value::from(0));
            }
        }
    }
    for value in schema.values_mut() {
        strict_value(value);
    }
}

fn strict_value(value: &mut Value) {
    match value {
        Value::Object(object) => make_strict(object),
        Value::Array(items) => items.iter_mut().for_each(strict_value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strict(value: Value) -> Value {
        let Value::Object(mut object) = value else {
            panic!("an object")
        };
        make_strict(&mut object);
        Value::Object(object)
    }

    #[test]
    fn integer_formats_go_and_unsigned_ones_keep_their_minimum() {
        let schema = json!({
            "type": "object",
            "properties": {
                "id": {"type": ["integer", "null"], "format": "uint64", "minimum": 0},
                "count": {"type": "integer", "format": "uint32"},
                "delta": {"type": "integer", "format": "int64"},
                "ratio": {"type": "number", "format": "double"},
                "when": {"type": "string", "format": "date-time"},
                "items": {"type": "array", "items": {"format": "uint16", "type": "integer"}},
                "choice": {"anyOf": [{"type": "integer", "format": "uint8"}, {"type": "null"}]},
            },
            "$defs": {"Id": {"type": "integer", "format": "uint"}},
        });
        assert_eq!(
            strict(schema),
            json!({
                "type": "object",
                "properties": {
                    "id": {"type": ["integer", "null"], "minimum": 0},
                    "count": {"type": "integer", "minimum": 0},
                    "delta": {"type": "integer"},
                    "ratio": {"type": "number"},
                    "when": {"type": "string", "format": "date-time"},
                    "items": {"type": "array", "items": {"type": "integer", "minimum": 0}},
                    "choice": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}]},
                },
                "$defs": {"Id": {"type": "integer", "minimum": 0}},
            })
        );
    }

    #[test]
    fn a_property_named_format_is_not_a_format() {
        // `properties.format` is a property's schema, not the `format` keyword.
        let schema = json!({"type": "object", "properties": {"format": {"type": "string"}}});
        assert_eq!(strict(schema.clone()), schema);
    }
}
