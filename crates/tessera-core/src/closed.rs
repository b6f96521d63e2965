//! Closed sets of values that reach storage or logs (sign-in results, failure reasons, audit
//! actions, ...): one enum each, with its one string mapping written once in a table by
//! [`closed_set!`]. The same string is stored, serialised to JSON and parsed back; a string
//! outside the table is an [`UnknownValue`], never a default.

/// A stored or received string that is not in its closed set.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not a known {set}")]
pub struct UnknownValue {
    /// What the set is, in words ("sign-in result").
    pub set: &'static str,
    pub value: String,
}

impl UnknownValue {
    pub fn new(set: &'static str, value: &str) -> Self {
        Self { set, value: value.escape_debug().to_string() }
    }
}

/// Declares a closed set: an enum whose variants each have one string, with `ALL`, `as_str`,
/// `parse` (exact match; an unknown string is an error), `Display`, comparison with `&str`
/// and serde (the same string).
///
/// ```ignore
/// closed_set! {
///     /// Doc.
///     pub enum SignInResult("sign-in result") { Success = "success", Failure = "failure" }
/// }
/// ```
macro_rules! closed_set {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $s:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The one string of this value: stored, logged and serialised.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $s),+
                }
            }

            /// The value of a string written by [`Self::as_str`].
            pub fn parse(s: &str) -> Result<Self, $crate::closed::UnknownValue> {
                match s {
                    $($s => Ok(Self::$variant),)+
                    other => Err($crate::closed::UnknownValue::new($what, other)),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::closed::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                Self::parse(&s).map_err(::serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use closed_set;

/// Checks a closed set's mapping: every value parses back from its string, through serde
/// too, the strings differ, and an unknown string is refused. For the unit tests of each set.
#[cfg(test)]
pub(crate) fn assert_round_trip<T>(all: &[T], as_str: impl Fn(T) -> &'static str, parse: impl Fn(&str) -> Option<T>)
where
    T: Copy + PartialEq + std::fmt::Debug + serde::Serialize + serde::de::DeserializeOwned,
{
    let mut seen = std::collections::HashSet::new();
    for &v in all {
        let s = as_str(v);
        assert!(seen.insert(s), "{s} twice");
        assert_eq!(parse(s), Some(v), "{s}");
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, format!("\"{s}\""));
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), v);
    }
    assert_eq!(parse("no such value"), None);
    assert!(serde_json::from_str::<T>("\"no such value\"").is_err());
}
