//! Accounts: an identity-server access token is issued to the Matrix user an OpenID token
//! belongs to, as confirmed by that user's homeserver.

use crate::crypto::tokens::{ACCESS_TOKEN_LEN, random_token_from};
use crate::error::{ApiError, ApiResult};
use crate::federation::FederationError;
use crate::state::AppState;

/// Verifies the OpenID token with the homeserver named in the request and issues a new
/// access token for the user it belongs to. Every call issues a fresh token.
pub async fn register(
    state: &AppState,
    matrix_server_name: &str,
    openid_token: &str,
) -> ApiResult<String> {
    let server_name = matrix_server_name.trim().to_ascii_lowercase();
    let user_id = state
        .federation
        .openid_user_id(&server_name, openid_token)
        .await
        .map_err(|e| match e {
            FederationError::InvalidServerName(why) => {
                ApiError::InvalidParam(format!("matrix_server_name is not a server name: {why}"))
            }
            FederationError::InvalidToken => ApiError::Unauthorized,
            FederationError::ForeignUser { .. } => {
                ApiError::Forbidden("the homeserver vouched for a user of another server".into())
            }
            FederationError::Denied(_) => {
                ApiError::Forbidden("this homeserver's address is not allowed".into())
            }
            other => ApiError::HomeserverUnavailable(other.to_string()),
        })?;
    let token = random_token_from(state.random.as_ref(), ACCESS_TOKEN_LEN)?;
    state
        .store
        .create_access_token(&token, &user_id, state.now_ms())
        .await?;
    tracing::info!(%user_id, "registered an access token");
    Ok(token)
}

/// Records accepted policy URLs (appended; URLs no policy publishes are refused).
pub async fn accept_terms(state: &AppState, user_id: &str, urls: &[String]) -> ApiResult<()> {
    let known = state.terms.known_urls();
    if let Some(unknown) = urls.iter().find(|u| !known.contains(u.as_str())) {
        return Err(ApiError::InvalidParam(format!(
            "`{unknown}` is not the URL of a current policy"
        )));
    }
    state
        .store
        .accept_terms(user_id, urls, state.now_ms())
        .await?;
    Ok(())
}
