//! The store contract suite: every test runs against every available backend (SQLite always,
//! PostgreSQL when `TESSERA_TEST_DATABASE_URL` is set), through the core services where the
//! behaviour is a use case and through the `Store`/`StoreTx` ports where it is a storage
//! property. Each test makes its own fresh databases, so they are order-independent.

#[path = "contract/common.rs"]
mod common;

#[path = "contract/admin_center.rs"]
mod admin_center;
#[path = "contract/audit.rs"]
mod audit;
#[path = "contract/bulk.rs"]
mod bulk;
#[path = "contract/changes.rs"]
mod changes;
#[path = "contract/closed_sets.rs"]
mod closed_sets;
#[path = "contract/concurrency.rs"]
mod concurrency;
#[path = "contract/credentials.rs"]
mod credentials;
#[path = "contract/legacy.rs"]
mod legacy;
#[path = "contract/listing.rs"]
mod listing;
#[path = "contract/manage.rs"]
mod manage;
#[path = "contract/oathtool.rs"]
mod oathtool;
#[path = "contract/permissions.rs"]
mod permissions;
#[path = "contract/settings.rs"]
mod settings;
#[path = "contract/signin.rs"]
mod signin;
#[path = "contract/tenants.rs"]
mod tenants;
#[path = "contract/tokens.rs"]
mod tokens;
#[path = "contract/tx.rs"]
mod tx;
#[path = "contract/users.rs"]
mod users;
