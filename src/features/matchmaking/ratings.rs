//! Ratings, pure: Elo with seed 001's formula (K = 32) and Glicko-2 (through `skillratings`,
//! tau 0.5). A team match rates each player against every other team, taken as one opponent
//! with the team's mean rating (and root-mean-square deviation).

use skillratings::glicko2::{glicko2_rating_period, Glicko2Config, Glicko2Rating};
use skillratings::Outcomes;

use super::model::{Outcome, Rating, RatingSystem};

pub const ELO_K: f64 = 32.0;

/// Seed 001: `expected = 1 / (1 + 10^((opponent - current) / 400))`,
/// `new = current + K * (actual - expected)`.
pub fn elo(current: f64, opponent: f64, outcome: Outcome) -> f64 {
    let expected = 1.0 / (1.0 + 10f64.powf((opponent - current) / 400.0));
    current + ELO_K * (outcome.score() - expected)
}

fn outcomes(o: Outcome) -> Outcomes {
    match o {
        Outcome::Win => Outcomes::WIN,
        Outcome::Loss => Outcomes::LOSS,
        Outcome::Draw => Outcomes::DRAW,
    }
}

/// One Glicko-2 rating period: the player's games against `opponents` (rating, deviation,
/// volatility) with their outcomes.
pub fn glicko2(player: &Rating, opponents: &[(f64, f64, Outcome)]) -> Rating {
    let me = Glicko2Rating {
        rating: player.rating,
        deviation: player.deviation,
        volatility: player.volatility,
    };
    let results: Vec<(Glicko2Rating, Outcomes)> = opponents
        .iter()
        .map(|&(rating, deviation, o)| {
            (
                Glicko2Rating {
                    rating,
                    deviation,
                    volatility: 0.06,
                },
                outcomes(o),
            )
        })
        .collect();
    let new = glicko2_rating_period(&me, &results, &Glicko2Config::new());
    Rating {
        rating: new.rating,
        deviation: new.deviation,
        volatility: new.volatility,
        ..player.clone()
    }
}

/// A player's new rating after one match against `opponents` (rating, deviation, outcome
/// against that side). Elo averages the per-opponent changes, so a two-sided match is
/// exactly the seed's formula.
pub fn rate(system: RatingSystem, player: &Rating, opponents: &[(f64, f64, Outcome)]) -> Rating {
    let mut next = match system {
        RatingSystem::Elo => {
            let change = if opponents.is_empty() {
                0.0
            } else {
                opponents
                    .iter()
                    .map(|&(r, _, o)| elo(player.rating, r, o) - player.rating)
                    .sum::<f64>()
                    / opponents.len() as f64
            };
            Rating {
                rating: player.rating + change,
                ..player.clone()
            }
        }
        RatingSystem::Glicko2 => glicko2(player, opponents),
    };
    next.games += 1;
    // The match's outcome for the player: won against everyone, lost to someone, or drew.
    if !opponents.is_empty() && opponents.iter().all(|o| o.2 == Outcome::Win) {
        next.wins += 1;
    } else if opponents.iter().any(|o| o.2 == Outcome::Loss) {
        next.losses += 1;
    } else {
        next.draws += 1;
    }
    next
}

/// A side's composite: mean rating and root-mean-square deviation.
pub fn composite(side: &[&Rating]) -> (f64, f64) {
    if side.is_empty() {
        return (0.0, 350.0);
    }
    let n = side.len() as f64;
    let r = side.iter().map(|x| x.rating).sum::<f64>() / n;
    let d = (side.iter().map(|x| x.deviation * x.deviation).sum::<f64>() / n).sqrt();
    (r, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, eps: f64) -> bool {
        (a - b).abs() < eps
    }

    #[test]
    fn elo_follows_the_seed_formula() {
        // Equal ratings: expected 0.5, so a win is +16 and a loss -16.
        assert!(close(elo(1500.0, 1500.0, Outcome::Win), 1516.0, 1e-9));
        assert!(close(elo(1500.0, 1500.0, Outcome::Loss), 1484.0, 1e-9));
        assert!(close(elo(1500.0, 1500.0, Outcome::Draw), 1500.0, 1e-9));
        // 200 points above: expected 1/(1+10^-0.5) = 0.759746...; a win gains 32*0.240253.
        assert!(close(elo(1700.0, 1500.0, Outcome::Win), 1707.688, 1e-3));
        assert!(close(elo(1500.0, 1700.0, Outcome::Win), 1524.312, 1e-3));
        // Zero-sum between two players of any ratings.
        let (a, b) = (1432.0, 1611.0);
        let gain = elo(a, b, Outcome::Win) - a;
        let loss = elo(b, a, Outcome::Loss) - b;
        assert!(close(gain, -loss, 1e-9));
    }

    #[test]
    fn glicko2_matches_glickmans_published_example() {
        // Glickman, "Example of the Glicko-2 system" (glicko2.pdf): a 1500 player with
        // RD 200 and volatility 0.06 beats a 1400/30, loses to a 1550/100 and a 1700/300;
        // with tau 0.5 the new rating is 1464.06, RD 151.52, volatility 0.05999.
        let player = Rating {
            deviation: 200.0,
            ..Rating::new(1500.0)
        };
        let after = glicko2(
            &player,
            &[
                (1400.0, 30.0, Outcome::Win),
                (1550.0, 100.0, Outcome::Loss),
                (1700.0, 300.0, Outcome::Loss),
            ],
        );
        assert!(close(after.rating, 1464.06, 0.01), "{}", after.rating);
        assert!(close(after.deviation, 151.52, 0.01), "{}", after.deviation);
        assert!(
            close(after.volatility, 0.05999, 0.00001),
            "{}",
            after.volatility
        );
    }

    #[test]
    fn a_team_match_counts_wins_losses_and_games() {
        let p = Rating::new(1500.0);
        let won = rate(RatingSystem::Elo, &p, &[(1500.0, 350.0, Outcome::Win)]);
        assert!(close(won.rating, 1516.0, 1e-9));
        assert_eq!((won.games, won.wins, won.losses, won.draws), (1, 1, 0, 0));
        // Three teams: beaten by one, drew with the other (neither won).
        let lost = rate(
            RatingSystem::Elo,
            &p,
            &[
                (1500.0, 350.0, Outcome::Loss),
                (1500.0, 350.0, Outcome::Draw),
            ],
        );
        assert!(close(lost.rating, 1492.0, 1e-9));
        assert_eq!((lost.wins, lost.losses), (0, 1));
        let g = rate(RatingSystem::Glicko2, &p, &[(1500.0, 350.0, Outcome::Win)]);
        assert!(g.rating > 1500.0 && g.deviation < 350.0);
        assert_eq!(
            composite(&[&Rating::new(1000.0), &Rating::new(2000.0)]).0,
            1500.0
        );
    }
}
