//! Anomaly detection for the internet-banking login: when to ask for a second factor.
//!
//! `never` and `always` do what they say. `rule` compares the login's location (the
//! `locLatitude`/`locLongitude` headers of the login-challenge call) with the user's last
//! known location (from the config's `lastLocation`, then from each completed login):
//! - no last known location (a first login): no anomaly;
//! - a location more than `anomalyDistanceKm` (default 500 km) from the last one: anomaly;
//! - no location on the request although the user has a last known one: anomaly.
//!
//! A completed login (code issued) records its location, when it had one, as the user's last.
//!
//! ```
//! use login_sandbox::anomaly::{distance_km, is_anomalous};
//! use login_sandbox::config::{AnomalyMode, GeoPoint};
//!
//! let bangkok = GeoPoint { latitude: 13.7563, longitude: 100.5018 };
//! let singapore = GeoPoint { latitude: 1.3521, longitude: 103.8198 };
//! assert!((distance_km(bangkok, singapore) - 1430.0).abs() < 20.0);
//! assert!(is_anomalous(AnomalyMode::Rule, 500.0, Some(bangkok), Some(singapore)));
//! assert!(!is_anomalous(AnomalyMode::Rule, 500.0, Some(bangkok), Some(bangkok)));
//! assert!(!is_anomalous(AnomalyMode::Rule, 500.0, None, Some(singapore)));
//! ```

use crate::config::{AnomalyMode, GeoPoint};

/// Mean Earth radius in kilometres.
const EARTH_RADIUS_KM: f64 = 6371.0;

/// Great-circle distance (haversine).
pub fn distance_km(a: GeoPoint, b: GeoPoint) -> f64 {
    let (la1, la2) = (a.latitude.to_radians(), b.latitude.to_radians());
    let dla = la2 - la1;
    let dlo = (b.longitude - a.longitude).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// Whether a point is a real latitude/longitude.
pub fn is_valid(p: GeoPoint) -> bool {
    (-90.0..=90.0).contains(&p.latitude) && (-180.0..=180.0).contains(&p.longitude)
}

/// Whether this login needs a second factor.
pub fn is_anomalous(
    mode: AnomalyMode,
    max_km: f64,
    last: Option<GeoPoint>,
    here: Option<GeoPoint>,
) -> bool {
    match mode {
        AnomalyMode::Never => false,
        AnomalyMode::Always => true,
        AnomalyMode::Rule => match (last, here) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(last), Some(here)) => distance_km(last, here) > max_km,
        },
    }
}

/// Reads the optional location headers' values: both or neither.
///
/// # Errors
/// A message when only one is given or a value is not a number in range.
pub fn parse_location(
    lat: Option<&str>,
    lon: Option<&str>,
) -> Result<Option<GeoPoint>, &'static str> {
    match (lat, lon) {
        (None, None) => Ok(None),
        (Some(lat), Some(lon)) => {
            let p = GeoPoint {
                latitude: lat
                    .trim()
                    .parse()
                    .map_err(|_| "locLatitude is not a number")?,
                longitude: lon
                    .trim()
                    .parse()
                    .map_err(|_| "locLongitude is not a number")?,
            };
            if is_valid(p) {
                Ok(Some(p))
            } else {
                Err("locLatitude/locLongitude out of range")
            }
        }
        _ => Err("send both locLatitude and locLongitude, or neither"),
    }
}
