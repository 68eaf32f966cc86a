//! `relay`: the server forwards what players send. Datagrams go to everyone else in the
//! match (prefixed with the sender's slot); reliable `match_data` goes to everyone else or
//! to the listed players.

use super::room::{
    Flow, Inputs, MatchHandler, MatchParams, MessageKind, Outbox, Presence, Setup, Target,
};
use crate::features::matches::MatchResult;

pub struct Relay;

pub struct RelayState {
    max_players: u32,
    players: u32,
}

impl MatchHandler for Relay {
    type State = RelayState;

    fn init(&self, params: &MatchParams) -> Result<Setup<RelayState>, String> {
        let max_players = params.int("max_players", 16, 1..=64)? as u32;
        Ok(Setup {
            state: RelayState {
                max_players,
                players: 0,
            },
            tick_rate: params.tick_rate()?,
            max_players,
            rules: Default::default(),
        })
    }

    fn join_attempt(&self, s: &RelayState, _who: &Presence) -> Result<(), String> {
        if s.players >= s.max_players {
            return Err("the match is full".into());
        }
        Ok(())
    }

    fn join(&self, s: &mut RelayState, _who: &mut Presence, _out: &mut Outbox) {
        s.players += 1;
    }

    fn leave(&self, s: &mut RelayState, _who: &Presence, _out: &mut Outbox) {
        s.players = s.players.saturating_sub(1);
    }

    fn tick(&self, _s: &mut RelayState, _tick: u64, inputs: Inputs, out: &mut Outbox) -> Flow {
        for input in inputs.datagrams {
            let mut payload = Vec::with_capacity(1 + input.payload.len());
            payload.push(input.slot);
            payload.extend_from_slice(&input.payload);
            out.datagram(Target::AllExcept(input.user_id), input.op, payload);
        }
        for m in inputs.messages {
            if let MessageKind::Data { op, data, to } = m.kind {
                let target = if to.is_empty() {
                    Target::AllExcept(m.user_id)
                } else {
                    Target::Only(to)
                };
                out.data(target, op, data, Some(m.user_id));
            }
        }
        Flow::Continue
    }

    fn terminate(&self, _s: RelayState) -> Option<MatchResult> {
        None
    }
}
