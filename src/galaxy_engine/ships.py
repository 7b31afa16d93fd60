"""Ship formulas (docs/rules.md section 5): mass, cargo, speed, attack, defence, upgrades."""

import math

from galaxy_engine.model import Group, Race, ShipType

DRIVE_MAGIC = 20.0
BATTLE_MAGIC = 30.0 ** (1.0 / 3.0)
COL_POP = 8.0
LOAD_MIN = 0.01
REVERSE_TURNS = 4.0


def round2(value: float) -> float:
    """GalaxyNG's ftrunc2: the value printed with %.2f and read back."""
    return float(f"{value:.2f}") + 0.0


def trunc2(value: float) -> float:
    """GalaxyNG's round2 (which truncates toward zero to 2 decimals), used by map creation."""
    return math.trunc(value * 100.0) / 100.0


def capacity(cargo_part: float, cargo_tech: float) -> float:
    """Cargo one ship can carry: cargoTech * (C + C^2/10)."""
    return cargo_tech * (cargo_part + cargo_part * cargo_part / 10.0)


def effective_mass(mass: float, load: float, cargo_tech: float) -> float:
    """Ship mass with its load; better cargo tech makes the load weigh less."""
    return mass + (load / cargo_tech if cargo_tech else load)


def speed(drive_part: float, drive_tech: float, mass: float) -> float:
    if drive_part <= 0 or mass <= 0:
        return 0.0
    return DRIVE_MAGIC * drive_tech * drive_part / mass


def defence(shields_part: float, shields_tech: float, mass: float) -> float:
    if shields_part <= 0 or mass <= 0:
        return 0.0
    return shields_part * shields_tech * BATTLE_MAGIC / math.pow(mass, 1.0 / 3.0)


def kill_probability(attack: float, target_defence: float) -> float:
    """P(attack/defence > 4^U), U uniform in [-1, 1]; defence 0 always dies."""
    if target_defence <= 0:
        return 1.0
    if attack <= 0:
        return 0.0
    p = (math.log(attack / target_defence, 4.0) + 1.0) / 2.0
    return min(1.0, max(0.0, p))


def base_speed(t: ShipType) -> float:
    return speed(t.drive, 1.0, t.mass)


def base_defence(t: ShipType) -> float:
    return defence(t.shields, 1.0, t.mass)


def group_mass(g: Group, t: ShipType) -> float:
    """Mass of one ship of the group, load included."""
    return effective_mass(t.mass, g.load, g.cargo)


def group_speed(g: Group, t: ShipType) -> float:
    return speed(t.drive, g.drive, group_mass(g, t))


def group_attack(g: Group, t: ShipType) -> float:
    return t.weapons * g.weapons if t.attacks > 0 else 0.0


def group_defence(g: Group, t: ShipType) -> float:
    return defence(t.shields, g.shields, group_mass(g, t))


def group_capacity(g: Group, t: ShipType) -> float:
    return capacity(t.cargo, g.cargo)


def set_group_tech(
    g: Group, t: ShipType, *, drive: float, weapons: float, shields: float, cargo: float
) -> None:
    """Tech levels as stored on a group: 2 decimals, and 0 for a part of mass 0 (cktech)."""
    g.drive = round2(drive) if t.drive else 0.0
    g.weapons = round2(weapons) if t.attacks else 0.0
    g.shields = round2(shields) if t.shields else 0.0
    g.cargo = round2(cargo) if t.cargo else 0.0


def upgrade_cost(g: Group, t: ShipType, race: Race) -> float:
    """Production to bring one ship of the group up to the race's levels (no MAT needed)."""
    return 10.0 * (
        (1.0 - g.drive / race.drive) * t.drive
        + (1.0 - g.weapons / race.weapons) * t.weapons_block
        + (1.0 - g.shields / race.shields) * t.shields
        + (1.0 - g.cargo / race.cargo) * t.cargo
    )


def ship_cost(t: ShipType) -> float:
    """Production per ship, MAT not counted: 10 * mass."""
    return 10.0 * t.mass
