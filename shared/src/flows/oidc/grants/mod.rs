//! One file per grant (after node-oidc-provider's `lib/actions/grants/`); `token::token`
//! dispatches to them by the closed list `oidc::GrantType`.

pub(super) mod code;
pub(super) mod password;
pub(super) mod refresh;
