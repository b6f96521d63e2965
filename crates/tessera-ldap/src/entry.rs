//! The entries of the directory: the root DSE, a tenant, its `ou=users` and its users; and
//! which of their attributes a search returns.

use ldap3_proto::proto::{LdapPartialAttribute, LdapSearchResultEntry};
use tessera_core::user::User;

use crate::dn::{self, Dn};

/// The Who am I? extended operation (RFC 4532), the one extension this server supports.
pub const OID_WHOAMI: &str = "1.3.6.1.4.1.4203.1.11.3";

/// An entry: its DN and its attributes by canonical name.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub dn: String,
    pub attrs: Vec<(&'static str, Vec<String>)>,
    /// The root DSE: its attributes are operational ones.
    pub root_dse: bool,
}

/// The attributes this directory knows, by canonical name; filters and attribute lists name
/// them in any case or by an alias.
pub fn canonical(name: &str) -> Option<&'static str> {
    const KNOWN: [&str; 10] = [
        "objectClass",
        "uid",
        "mail",
        "cn",
        "displayName",
        "o",
        "ou",
        "namingContexts",
        "supportedLDAPVersion",
        "supportedExtension",
    ];
    let lower = name.trim().to_ascii_lowercase();
    let alias = match lower.as_str() {
        "userid" | "0.9.2342.19200300.100.1.1" => Some("uid"),
        "rfc822mailbox" | "0.9.2342.19200300.100.1.3" => Some("mail"),
        "commonname" | "2.5.4.3" => Some("cn"),
        "organizationname" | "2.5.4.10" => Some("o"),
        "organizationalunitname" | "2.5.4.11" => Some("ou"),
        "2.5.4.0" => Some("objectClass"),
        _ => None,
    };
    alias.or_else(|| KNOWN.into_iter().find(|k| k.eq_ignore_ascii_case(&lower)))
}

impl Entry {
    /// The values of an attribute (canonical name); `None` when the entry does not have it.
    pub fn values(&self, canonical: &str) -> Option<&[String]> {
        self.attrs.iter().find(|(name, _)| *name == canonical).map(|(_, v)| v.as_slice())
    }

    /// The root DSE as the connection sees it: the bound user's tenant as naming context.
    pub fn root_dse(tenant: Option<&str>) -> Entry {
        let mut attrs = vec![("objectClass", vec!["top".to_owned()])];
        if let Some(t) = tenant {
            attrs.push(("namingContexts", vec![Dn::Tenant(t.to_owned()).to_string()]));
        }
        attrs.push(("supportedLDAPVersion", vec!["3".to_owned()]));
        attrs.push(("supportedExtension", vec![OID_WHOAMI.to_owned()]));
        Entry { dn: String::new(), attrs, root_dse: true }
    }

    pub fn tenant(slug: &str) -> Entry {
        Entry {
            dn: Dn::Tenant(slug.to_owned()).to_string(),
            attrs: vec![("objectClass", strings(&["top", "organization"])), ("o", vec![slug.to_owned()])],
            root_dse: false,
        }
    }

    pub fn users(slug: &str) -> Entry {
        Entry {
            dn: Dn::Users(slug.to_owned()).to_string(),
            attrs: vec![("objectClass", strings(&["top", "organizationalUnit"])), ("ou", vec!["users".to_owned()])],
            root_dse: false,
        }
    }

    /// A user: `memberOf` is not emitted (there are no groups yet).
    pub fn user(user: &User, slug: &str) -> Entry {
        let upn = user.upn.as_str();
        Entry {
            dn: dn::user_dn(upn, slug),
            attrs: vec![
                ("objectClass", strings(&["top", "person", "organizationalPerson", "inetOrgPerson"])),
                ("uid", vec![upn.to_owned()]),
                ("mail", vec![upn.to_owned()]),
                ("cn", vec![user.display_name.clone()]),
                ("displayName", vec![user.display_name.clone()]),
            ],
            root_dse: false,
        }
    }

    /// The entry as sent, with the attributes `selection` asks for.
    pub fn to_result(&self, selection: &Selection) -> LdapSearchResultEntry {
        let attributes = self
            .attrs
            .iter()
            .filter(|(name, _)| selection.wants(name, self.root_dse))
            .map(|(name, vals)| LdapPartialAttribute {
                atype: (*name).to_owned(),
                vals: if selection.types_only {
                    Vec::new()
                } else {
                    vals.iter().map(|v| v.as_bytes().to_vec()).collect()
                },
            })
            .collect();
        LdapSearchResultEntry { dn: self.dn.clone(), attributes }
    }
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

/// The attribute list of a search request (RFC 4511 §4.5.1.8).
#[derive(Clone, Debug, Default)]
pub struct Selection {
    all_user: bool,
    all_operational: bool,
    names: Vec<&'static str>,
    pub types_only: bool,
}

impl Selection {
    /// No list means all user attributes; `1.1` (alone) or only unknown names mean none.
    pub fn new(attrs: &[String], types_only: bool) -> Selection {
        let mut s = Selection { types_only, all_user: attrs.is_empty(), ..Selection::default() };
        for a in attrs {
            match a.trim() {
                "*" => s.all_user = true,
                "+" => s.all_operational = true,
                other => s.names.extend(canonical(other)),
            }
        }
        s
    }

    /// Whether to return attribute `name`. The root DSE shows all its attributes unless the
    /// client named some (as Active Directory does: clients read `namingContexts` without
    /// asking for operational attributes).
    fn wants(&self, name: &str, root_dse: bool) -> bool {
        if self.names.contains(&name) {
            return true;
        }
        if root_dse {
            return self.all_user || self.all_operational;
        }
        self.all_user
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(e: &Entry, attrs: &[&str]) -> Vec<String> {
        let attrs: Vec<String> = attrs.iter().map(|a| (*a).to_owned()).collect();
        e.to_result(&Selection::new(&attrs, false)).attributes.into_iter().map(|a| a.atype).collect()
    }

    #[test]
    fn attribute_lists() {
        let e = Entry::tenant("contoso");
        assert_eq!(names(&e, &[]), ["objectClass", "o"]);
        assert_eq!(names(&e, &["*"]), ["objectClass", "o"]);
        assert_eq!(names(&e, &["1.1"]), Vec::<String>::new());
        assert_eq!(names(&e, &["O"]), ["o"]);
        assert_eq!(names(&e, &["organizationName", "nosuch"]), ["o"]);
        assert_eq!(names(&e, &["nosuch"]), Vec::<String>::new());
        assert_eq!(names(&e, &["+"]), Vec::<String>::new());
        let root = Entry::root_dse(Some("contoso"));
        assert_eq!(names(&root, &[]), ["objectClass", "namingContexts", "supportedLDAPVersion", "supportedExtension"]);
        assert_eq!(names(&root, &["namingcontexts"]), ["namingContexts"]);
        assert_eq!(root.values("namingContexts"), Some(&["o=contoso".to_owned()][..]));
        assert_eq!(Entry::root_dse(None).values("namingContexts"), None);
        let typed = e.to_result(&Selection::new(&[], true));
        assert!(typed.attributes.iter().all(|a| a.vals.is_empty()));
    }

    #[test]
    fn canonical_names() {
        assert_eq!(canonical("DISPLAYNAME"), Some("displayName"));
        assert_eq!(canonical("commonName"), Some("cn"));
        assert_eq!(canonical("objectclass"), Some("objectClass"));
        assert_eq!(canonical("memberOf"), None);
    }
}
