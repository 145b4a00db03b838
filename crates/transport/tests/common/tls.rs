//! A TLS listener on 127.0.0.1 whose certificate (for "localhost") a private rcgen CA signs.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use super::{Server, read_request, respond};

pub struct TlsServer {
    pub server: Server,
    pub ca_pem: String,
}

impl TlsServer {
    pub fn start() -> TlsServer {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "loginflow test CA");
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA cert");
        let issuer = Issuer::from_params(&ca_params, &ca_key);

        let leaf_key = KeyPair::generate().expect("leaf key");
        let leaf_params =
            CertificateParams::new(vec!["localhost".to_string()]).expect("leaf params");
        let leaf = leaf_params
            .signed_by(&leaf_key, &issuer)
            .expect("leaf cert");

        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )
            .expect("server config");
        let config = Arc::new(config);
        let server = Server::start(move |tcp| {
            let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                return;
            };
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            while read_request(&mut tls).is_some() {
                if !respond(&mut tls, 201, &[], b"{\"tls\":true}") {
                    break;
                }
            }
        });
        TlsServer {
            server,
            ca_pem: ca_cert.pem(),
        }
    }

    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.server.addr().port())
    }
}
