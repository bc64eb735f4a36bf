//! The gatehouse console and its admin-API client. This crate knows nothing of sled or warp:
//! it talks JSON over HTTP on the admin Unix socket, like any other client.

pub mod client;

/// Runs the console until the user quits.
pub fn run_console(socket: std::path::PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    let client = client::AdminClient::new(socket);
    if !client.is_running() {
        return Err(Box::new(client::ClientError::NotRunning(
            client.socket().to_path_buf(),
        )));
    }
    Err("the console screens are not built yet".into())
}
