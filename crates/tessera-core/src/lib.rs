//! Tessera's domain: tenants, users, per-user MFA states, roles and permissions, and the
//! use cases (services) that change them. Knows nothing of HTTP or SQL: storage is reached
//! through the ports in [`ports`].

pub mod access;
pub mod admin_ports;
pub mod app_password;
pub mod audit;
pub mod auth_ports;
pub mod change;
pub mod closed;
pub mod credential_ports;
pub mod crypto;
pub mod cursor;
pub mod error;
pub mod ids;
pub mod mfa;
pub mod password;
pub mod ports;
pub mod report;
pub mod service;
pub mod session;
pub mod settings;
pub mod signin;
pub mod tokens;
pub mod totp;
pub mod user;

pub use error::CoreError;
