//! Allowed locations (geofences): circles and polygons, and who they apply to.
//!
//! Distances are great-circle (haversine) metres. A punch is inside a fence when its distance
//! to the fence is within the GPS accuracy the device reported: the true position may then lie
//! inside, and refusing a worker standing at the edge of the field helps no one.

use serde::{Deserialize, Serialize};

/// Mean Earth radius (IUGG), metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

impl LatLon {
    pub fn new(lat: f64, lon: f64) -> Self {
        Self { lat, lon }
    }

    pub fn valid(&self) -> bool {
        self.lat.is_finite()
            && self.lon.is_finite()
            && (-90.0..=90.0).contains(&self.lat)
            && (-180.0..=180.0).contains(&self.lon)
    }
}

/// Great-circle distance in metres.
pub fn haversine_m(a: LatLon, b: LatLon) -> f64 {
    let (p1, p2) = (a.lat.to_radians(), b.lat.to_radians());
    let dp = (b.lat - a.lat).to_radians();
    let dl = (b.lon - a.lon).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Shape {
    Circle {
        center: LatLon,
        radius_m: f64,
    },
    /// Vertices in order; the ring closes itself. Fences are a few hundred metres across, so a
    /// local equirectangular projection is exact enough for inside/outside and edge distance.
    Polygon {
        points: Vec<LatLon>,
    },
}

/// Who a fence applies to. Several fences may apply to one employee; any of them will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    Everyone,
    Firm(String),
    Department(String),
    /// A gang / work group (the employee's `group`).
    Group(String),
    Employee(String),
}

impl Scope {
    /// `all`, `firm:F1`, `department:FLD`, `group:G1`, `employee:E001` (import and admin text).
    pub fn parse(s: &str) -> Option<Scope> {
        let s = s.trim();
        if s.is_empty() || s.eq_ignore_ascii_case("all") || s == "*" {
            return Some(Scope::Everyone);
        }
        let (kind, value) = s.split_once(':')?;
        let value = value.trim().to_string();
        if value.is_empty() {
            return None;
        }
        Some(match kind.trim().to_ascii_lowercase().as_str() {
            "firm" | "unit" => Scope::Firm(value),
            "department" | "dept" => Scope::Department(value),
            "group" | "gang" => Scope::Group(value),
            "employee" | "emp" => Scope::Employee(value),
            _ => return None,
        })
    }

    pub fn text(&self) -> String {
        match self {
            Scope::Everyone => "all".into(),
            Scope::Firm(v) => format!("firm:{v}"),
            Scope::Department(v) => format!("department:{v}"),
            Scope::Group(v) => format!("group:{v}"),
            Scope::Employee(v) => format!("employee:{v}"),
        }
    }
}

/// What a fence needs to know about an employee to decide whether it applies.
pub struct Member<'a> {
    pub code: &'a str,
    pub firm: &'a str,
    pub department: &'a str,
    pub group: &'a str,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fence {
    /// Short code, unique (import key).
    pub code: String,
    pub name: String,
    pub shape: Shape,
    pub scopes: Vec<Scope>,
    pub active: bool,
    pub updated_unix: i64,
}

impl Fence {
    pub fn applies_to(&self, m: &Member<'_>) -> bool {
        self.active
            && self.scopes.iter().any(|s| match s {
                Scope::Everyone => true,
                Scope::Firm(f) => f == m.firm,
                Scope::Department(d) => d == m.department,
                Scope::Group(g) => !m.group.is_empty() && g == m.group,
                Scope::Employee(e) => e == m.code,
            })
    }

    /// Metres from `p` to the fence (0 inside).
    pub fn distance_m(&self, p: LatLon) -> f64 {
        match &self.shape {
            Shape::Circle { center, radius_m } => (haversine_m(*center, p) - radius_m).max(0.0),
            Shape::Polygon { points } => polygon_distance_m(points, p),
        }
    }

    /// A point that represents the fence on a map (circle centre, polygon vertex mean).
    pub fn center(&self) -> LatLon {
        match &self.shape {
            Shape::Circle { center, .. } => *center,
            Shape::Polygon { points } => {
                let n = points.len().max(1) as f64;
                LatLon::new(
                    points.iter().map(|p| p.lat).sum::<f64>() / n,
                    points.iter().map(|p| p.lon).sum::<f64>() / n,
                )
            }
        }
    }

    /// Checks the shape: finite coordinates, a positive radius, a polygon of 3+ vertices.
    pub fn validate(&self) -> Result<(), &'static str> {
        match &self.shape {
            Shape::Circle { center, radius_m } => {
                if !center.valid() {
                    return Err("center");
                }
                if !(radius_m.is_finite() && *radius_m >= 1.0 && *radius_m <= 50_000.0) {
                    return Err("radius");
                }
            }
            Shape::Polygon { points } => {
                if points.len() < 3 || points.len() > 500 || !points.iter().all(LatLon::valid) {
                    return Err("polygon");
                }
            }
        }
        Ok(())
    }
}

/// Projects onto a local plane in metres around `origin` (equirectangular).
fn project(origin: LatLon, p: LatLon) -> (f64, f64) {
    let k = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
    let x = (p.lon - origin.lon) * k * origin.lat.to_radians().cos();
    let y = (p.lat - origin.lat) * k;
    (x, y)
}

fn polygon_distance_m(points: &[LatLon], p: LatLon) -> f64 {
    if points.len() < 3 {
        return f64::INFINITY;
    }
    let pts: Vec<(f64, f64)> = points.iter().map(|q| project(p, *q)).collect();
    // Ray casting from the origin (the point itself).
    let mut inside = false;
    let n = pts.len();
    for i in 0..n {
        let (xi, yi) = pts[i];
        let (xj, yj) = pts[(i + n - 1) % n];
        if (yi > 0.0) != (yj > 0.0) && 0.0 < (xj - xi) * (0.0 - yi) / (yj - yi) + xi {
            inside = !inside;
        }
    }
    if inside {
        return 0.0;
    }
    (0..n)
        .map(|i| segment_distance(pts[i], pts[(i + 1) % n]))
        .fold(f64::INFINITY, f64::min)
}

/// Distance from the origin to the segment a–b.
fn segment_distance(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        ((-a.0) * dx + (-a.1) * dy) / len2
    }
    .clamp(0.0, 1.0);
    let (x, y) = (a.0 + t * dx, a.1 + t * dy);
    (x * x + y * y).sqrt()
}

/// The result of checking a position against the fences that apply.
#[derive(Debug, Clone, PartialEq)]
pub enum FenceCheck {
    /// Inside (within accuracy) this fence; `distance_m` is 0 when strictly inside.
    Inside { fence: String, distance_m: f64 },
    /// Outside every fence; the nearest one and how far it is.
    Outside {
        nearest: String,
        nearest_name: String,
        distance_m: f64,
    },
    /// No fence applies to this employee.
    NoFence,
}

pub fn check<'a>(
    fences: impl IntoIterator<Item = &'a Fence>,
    p: LatLon,
    accuracy_m: f64,
) -> FenceCheck {
    let mut best: Option<(&Fence, f64)> = None;
    for f in fences {
        let d = f.distance_m(p);
        if best.is_none_or(|(_, bd)| d < bd) {
            best = Some((f, d));
        }
    }
    match best {
        None => FenceCheck::NoFence,
        Some((f, d)) if d <= accuracy_m.max(0.0) => FenceCheck::Inside {
            fence: f.code.clone(),
            distance_m: d,
        },
        Some((f, d)) => FenceCheck::Outside {
            nearest: f.code.clone(),
            nearest_name: f.name.clone(),
            distance_m: d,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn circle(code: &str, lat: f64, lon: f64, r: f64) -> Fence {
        Fence {
            code: code.into(),
            name: code.into(),
            shape: Shape::Circle {
                center: LatLon::new(lat, lon),
                radius_m: r,
            },
            scopes: vec![Scope::Everyone],
            active: true,
            updated_unix: 0,
        }
    }

    #[test]
    fn haversine_matches_known_distances() {
        // One degree of latitude ≈ 111.2 km.
        let d = haversine_m(LatLon::new(0.0, 0.0), LatLon::new(1.0, 0.0));
        assert!((d - 111_195.0).abs() < 50.0, "{d}");
        // Jakarta–Bandung ≈ 116–120 km.
        let d = haversine_m(
            LatLon::new(-6.2088, 106.8456),
            LatLon::new(-6.9175, 107.6191),
        );
        assert!((115_000.0..121_000.0).contains(&d), "{d}");
        assert_eq!(
            haversine_m(LatLon::new(8.9, 77.3), LatLon::new(8.9, 77.3)),
            0.0
        );
    }

    #[test]
    fn circle_inside_edge_and_accuracy() {
        let f = circle("A", 8.95, 77.30, 200.0);
        // ~300 m north of the centre: 100 m outside the circle.
        let p = LatLon::new(8.95 + 300.0 / 111_195.0, 77.30);
        let d = f.distance_m(p);
        assert!((d - 100.0).abs() < 1.0, "{d}");
        assert!(matches!(check([&f], p, 10.0), FenceCheck::Outside { .. }));
        // Accuracy that covers the gap lets it in.
        assert!(matches!(check([&f], p, 101.0), FenceCheck::Inside { .. }));
        assert_eq!(f.distance_m(LatLon::new(8.95, 77.30)), 0.0);
    }

    #[test]
    fn nearest_of_several_fences_is_reported() {
        let a = circle("A", 8.95, 77.30, 100.0);
        let b = circle("B", 8.96, 77.30, 100.0);
        let p = LatLon::new(8.9585, 77.30); // ~167 m south of B's centre
        match check([&a, &b], p, 5.0) {
            FenceCheck::Outside {
                nearest,
                distance_m,
                ..
            } => {
                assert_eq!(nearest, "B");
                assert!((distance_m - 66.8).abs() < 2.0, "{distance_m}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(check(Vec::<&Fence>::new(), p, 5.0), FenceCheck::NoFence);
    }

    #[test]
    fn polygon_inside_and_distance_to_edge() {
        // A square of about 222 m × 220 m.
        let sq = Fence {
            shape: Shape::Polygon {
                points: vec![
                    LatLon::new(8.950, 77.300),
                    LatLon::new(8.950, 77.302),
                    LatLon::new(8.952, 77.302),
                    LatLon::new(8.952, 77.300),
                ],
            },
            ..circle("P", 0.0, 0.0, 1.0)
        };
        assert!(sq.validate().is_ok());
        assert_eq!(sq.distance_m(LatLon::new(8.951, 77.301)), 0.0);
        // 0.001° of latitude south of the bottom edge ≈ 111 m.
        let d = sq.distance_m(LatLon::new(8.949, 77.301));
        assert!((d - 111.2).abs() < 1.0, "{d}");
        let bad = Fence {
            shape: Shape::Polygon {
                points: vec![LatLon::new(0.0, 0.0), LatLon::new(1.0, 1.0)],
            },
            ..sq.clone()
        };
        assert_eq!(bad.validate(), Err("polygon"));
    }

    #[test]
    fn scopes_select_fences() {
        let mut f = circle("A", 0.0, 0.0, 10.0);
        f.scopes = vec![Scope::Group("G1".into()), Scope::Employee("E9".into())];
        let m = |code, group| Member {
            code,
            firm: "F1",
            department: "FLD",
            group,
        };
        assert!(f.applies_to(&m("E1", "G1")));
        assert!(f.applies_to(&m("E9", "")));
        assert!(!f.applies_to(&m("E2", "G2")));
        f.active = false;
        assert!(!f.applies_to(&m("E1", "G1")));
        assert_eq!(Scope::parse("gang:G7"), Some(Scope::Group("G7".into())));
        assert_eq!(Scope::parse("all"), Some(Scope::Everyone));
        assert_eq!(Scope::parse("planet:x"), None);
        assert_eq!(Scope::parse("firm:F1").unwrap().text(), "firm:F1");
    }
}
