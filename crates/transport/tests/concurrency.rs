//! Many flows at once on the async transport: each flow keeps to one connection.

mod common;

use std::time::Duration;

use common::{Canned, Scripted, realm_answer};
use login_core::realm::{self, RealmConfig};
use login_core::secret::{ClientSecret, Password};
use login_core::{Bank, Runner};
use login_transport::{AsyncDriver, HyperTransport, NoInteraction, TransportConfig};

#[test]
fn a_thousand_concurrent_flows_open_one_connection_each() {
    const FLOWS: usize = 1000;
    // A little server-side latency so that all flows are in flight together.
    let server = Scripted::start(|line, _| {
        realm_answer(line, false, 300)
            .unwrap_or_else(|| Canned::new(404, ""))
            .delay(Duration::from_millis(20))
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let config = TransportConfig::new(&server.server.url()).expect("loopback URL");
    let transport = HyperTransport::new(config).expect("hyper transport");
    let opened: Vec<u64> = rt.block_on(async {
        let flows: Vec<_> = (0..FLOWS)
            .map(|i| {
                let transport = transport.clone();
                tokio::spawn(async move {
                    let cfg = RealmConfig::new(
                        "cap",
                        "cap-mobile",
                        ClientSecret::new("test-client-secret"),
                    );
                    let driver = AsyncDriver::new(transport.session());
                    let start =
                        realm::Start::new(format!("user{i}"), Password::new("test-password"));
                    driver
                        .login(Bank::Realm(&cfg), Runner::login(start), &mut NoInteraction)
                        .await
                        .expect("the login succeeds");
                    driver.transport().connections_opened()
                })
            })
            .collect();
        let mut opened = Vec::new();
        for flow in flows {
            opened.push(flow.await.expect("the flow did not panic"));
        }
        opened
    });
    // A flow dials at most once; one that starts after another finished may take that
    // flow's connection instead (0 dials). Every connection the server saw was dialed by a flow.
    assert!(
        opened.iter().all(|&n| n <= 1),
        "a flow opened more than one connection"
    );
    assert_eq!(server.count("POST "), 2 * FLOWS);
    let dialed: u64 = opened.iter().sum();
    assert_eq!(server.server.accepted() as u64, dialed);
    assert!(dialed <= FLOWS as u64, "connections per flow: at most 1");
}
