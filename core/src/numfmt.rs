//! Number formatting exactly as Go's `strconv` does it for sops: the plaintext form of
//! floats (`'f'`, shortest), the YAML form (`'g'`, shortest) and the JSON form
//! (`encoding/json`'s rule).

/// Splits the shortest round-trip digits of a finite, non-zero `v` into a mantissa
/// (`"1.5"`) and a decimal exponent.
fn shortest_exp(v: f64) -> (String, i32) {
    let s = format!("{:e}", v.abs());
    let (mant, exp) = s.split_once('e').expect("LowerExp always has an exponent");
    (
        mant.to_string(),
        exp.parse().expect("exponent is an integer"),
    )
}

fn with_exponent(v: f64, min_digits: usize) -> String {
    let (mant, exp) = shortest_exp(v);
    let sign = if v.is_sign_negative() { "-" } else { "" };
    let esign = if exp < 0 { '-' } else { '+' };
    format!("{sign}{mant}e{esign}{:0min_digits$}", exp.unsigned_abs())
}

/// Go `strconv.FormatFloat(v, 'f', -1, 64)`: shortest digits, never an exponent
/// (`8080`, `0.0000001`, `+Inf`, `NaN`). This is the plaintext of a `type:float` value.
pub fn go_float_plain(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

/// Go `strconv.FormatFloat(v, 'g', -1, 64)` with go-yaml's `.inf`/`.nan` spellings:
/// `8080`, `1.5`, `1e+21`, `1e-07`, `1.23456789e+08`.
pub fn go_float_yaml(v: f64) -> String {
    if v.is_nan() {
        return ".nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Shortest 'g' uses an exponent when exp < -4 or exp >= 6 (Go's eprec for shortest).
    let (_, exp) = shortest_exp(v);
    if !(-4..6).contains(&exp) {
        with_exponent(v, 2)
    } else {
        format!("{v}")
    }
}

/// Go `encoding/json` float formatting: plain decimal for 1e-6 ≤ |v| < 1e21, otherwise an
/// exponent without zero padding (`1e+21`, `1e-7`).
pub fn go_float_json(v: f64) -> String {
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        with_exponent(v, 1)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_form_never_uses_an_exponent() {
        assert_eq!(go_float_plain(8080.0), "8080");
        assert_eq!(go_float_plain(1e21), "1000000000000000000000");
        assert_eq!(go_float_plain(1e-7), "0.0000001");
        assert_eq!(
            go_float_plain(12345678901234567890.0),
            "12345678901234567000"
        );
        assert_eq!(go_float_plain(f64::INFINITY), "+Inf");
        assert_eq!(go_float_plain(-0.0), "-0");
    }

    #[test]
    fn yaml_form_matches_go_g() {
        for (v, want) in [
            (8080.0, "8080"),
            (1.5, "1.5"),
            (1e10, "1e+10"),
            (1e-7, "1e-07"),
            (6.02e23, "6.02e+23"),
            (1e21, "1e+21"),
            (1e20, "1e+20"),
            (1e300, "1e+300"),
            (0.000001, "1e-06"),
            (123456789.0, "1.23456789e+08"),
            (100000.0, "100000"),
            (1e6, "1e+06"),
            (0.0001, "0.0001"),
            (-0.0, "-0"),
            (1.2345678901234568e29, "1.2345678901234568e+29"),
            (std::f64::consts::PI, "3.141592653589793"),
        ] {
            assert_eq!(go_float_yaml(v), want, "{v}");
        }
    }

    #[test]
    fn json_form_matches_encoding_json() {
        for (v, want) in [
            (1e21, "1e+21"),
            (1e-7, "1e-7"),
            (1e20, "100000000000000000000"),
            (0.000001, "0.000001"),
            (2.0, "2"),
            (-0.0, "-0"),
            (9223372036854775807.0, "9223372036854776000"),
        ] {
            assert_eq!(go_float_json(v), want, "{v}");
        }
    }
}
