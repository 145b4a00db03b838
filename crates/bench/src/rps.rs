//! Item 6: requests per second of one GET endpoint over `c` keep-alive connections, and
//! password logins per second.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use login_core::realm::Start;
use login_core::secret::Password;
use login_core::{Bank, Runner};
use login_transport::{AsyncDriver, HyperTransport, NoInteraction, TransportConfig};

use crate::setup::creds;

/// Sends `GET path` back to back on each of `connections` connections for `secs`; returns
/// (requests completed, failures).
pub async fn get_rps(
    addr: &str,
    path: &str,
    connections: usize,
    secs: f64,
) -> Result<(u64, u64), String> {
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let addr = addr.to_owned();
        let path = path.to_owned();
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(&addr)
                .await
                .map_err(|e| e.to_string())?;
            let _ = stream.set_nodelay(true);
            let (mut sender, conn) = http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
            let driver = tokio::spawn(conn);
            let (mut done, mut failed) = (0u64, 0u64);
            while Instant::now() < until {
                let req = hyper::Request::get(&path)
                    .header("host", &addr)
                    .body(Empty::<Bytes>::new())
                    .map_err(|e| e.to_string())?;
                if sender.ready().await.is_err() {
                    break;
                }
                match sender.send_request(req).await {
                    Ok(resp) => {
                        let ok = resp.status().is_success();
                        let body = resp.into_body().collect().await;
                        if ok && body.is_ok() {
                            done += 1;
                        } else {
                            failed += 1;
                        }
                    }
                    Err(_) => {
                        failed += 1;
                        break;
                    }
                }
            }
            drop(sender);
            driver.abort();
            Ok::<_, String>((done, failed))
        }));
    }
    let (mut done, mut failed) = (0, 0);
    for t in tasks {
        let (d, f) = t.await.map_err(|e| e.to_string())??;
        done += d;
        failed += f;
    }
    Ok((done, failed))
}

/// Realm logins (each verifies the password with argon2id) from `concurrency` loops for
/// `secs`; returns (logins completed, failures).
pub async fn login_rate(base: &str, concurrency: usize, secs: f64) -> Result<(u64, u64), String> {
    let transport = TransportConfig::new(&format!("{base}/internal-api/centaur"))
        .map_err(|e| e.to_string())
        .and_then(|c| HyperTransport::new(c).map_err(|e| e.to_string()))?;
    let cfg = creds::realm_config();
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let transport = transport.clone();
        let cfg = cfg.clone();
        tasks.push(tokio::spawn(async move {
            let driver = AsyncDriver::new(transport.session());
            let (mut done, mut failed) = (0u64, 0u64);
            while Instant::now() < until {
                let start = Start::new(creds::USER, Password::new(creds::PASSWORD));
                let run = Runner::login(start);
                match driver
                    .login(Bank::Realm(&cfg), run, &mut NoInteraction)
                    .await
                {
                    Ok(_) => done += 1,
                    Err(_) => failed += 1,
                }
            }
            (done, failed)
        }));
    }
    let (mut done, mut failed) = (0, 0);
    for t in tasks {
        let (d, f) = t.await.map_err(|e| e.to_string())?;
        done += d;
        failed += f;
    }
    Ok((done, failed))
}
