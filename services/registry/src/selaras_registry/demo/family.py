"""Family composition: who lives in a household, with their ages, kinship and marital status."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from selaras_registry.demo.tables import CHILD_GAP, HEAD_AGE, SIZE, SPOUSE_GAP

Person = tuple[str, bool, int, str, int]
"""(relationship, female, age, marital status, NIK prefix index) of one household member."""


def draw_people(
    random: Callable[[], float], head_prefix: int, home_prefix: int, migrant: bool
) -> tuple[int, bool, list[Person]]:
    """The members of one household as (head's age, whether a spouse lives there, people).

    `random` is the run's random stream; the prefixes are indexes into the NIK prefix list.
    """
    head_age = HEAD_AGE[int(random() * len(HEAD_AGE))]
    sizes = SIZE[0 if head_age < 30 else 1 if head_age < 45 else 2 if head_age < 60 else 3]
    size = sizes[int(random() * len(sizes))]
    head_female = random() < (0.3 if size <= 2 else 0.12)
    people: list[Person] = []
    spouse = size > 1 and random() < (0.04 if head_female else 0.9)
    if spouse:
        head_marital = "kawin"
    elif size == 1 and head_age < 35:
        head_marital = "belum_kawin" if random() < 0.85 else "cerai_hidup"
    else:
        head_marital = "cerai_mati" if random() < min(0.9, head_age / 70) else "cerai_hidup"
    people.append(("kepala_keluarga", head_female, head_age, head_marital, head_prefix))
    mother_age = head_age if head_female else head_age - 4
    if spouse:
        gap = SPOUSE_GAP[int(random() * len(SPOUSE_GAP))]
        spouse_age = head_age + gap if head_female else max(17, head_age - gap)
        spouse_prefix = head_prefix if random() < 0.6 else home_prefix
        relationship = "suami" if head_female else "istri"
        people.append((relationship, not head_female, spouse_age, "kawin", spouse_prefix))
        if not head_female:
            mother_age = spouse_age
    slots = size - len(people)

    if slots and head_age <= 62 and random() < 0.12:
        in_law = spouse and random() < 0.35
        base = people[1][2] if in_law else head_age
        age = base + 20 + int(random() * 16)
        if age <= 95:
            female = random() < 0.7
            marital = "cerai_mati" if random() < 0.8 else "kawin"
            relationship = "mertua" if in_law else "orang_tua"
            people.append((relationship, female, age, marital, home_prefix))
            slots -= 1
    if slots and random() < 0.03:
        age = 10 + int(random() * 20)
        marital = "belum_kawin" if age < 22 or random() < 0.7 else "kawin"
        people.append(("famili_lain", random() < 0.5, age, marital, home_prefix))
        slots -= 1

    grandchildren = 0
    married_child = False
    if slots >= 2 and head_age >= 45 and random() < 0.4:
        grandchildren = 1 + int(random() * min(3, slots - 1))
        married_child = random() < 0.6 and mother_age >= 40
    children = slots - grandchildren
    if married_child and random() < 0.5 and children >= 2:
        children -= 1  # that slot goes to the child's spouse (menantu)
        menantu = True
    else:
        menantu = False

    child_prefix_migrant = head_prefix if migrant else home_prefix
    oldest = -1
    if children:
        # First birth at 19-27; older children have often left home already.
        oldest = mother_age - 19 - int(random() * 9)
        cap = 18 + int(random() * 14)
        if oldest > cap:
            oldest = cap - int(random() * 5)
        if married_child:
            oldest = max(oldest, min(22 + int(random() * 8), mother_age - 18))
        oldest = min(max(oldest, children - 1), mother_age - 18)
        age = oldest
        made = 0
        while made < children and age >= 0:
            female = random() < 0.49
            if made == 0 and married_child:
                marital = "kawin"
            elif age >= 19 and random() < 0.1:
                marital = "cerai_hidup"
            else:
                marital = "belum_kawin"
            prefix = child_prefix_migrant if age >= 12 else home_prefix
            people.append(("anak", female, age, marital, prefix))
            made += 1
            remaining = children - made
            if remaining:
                step = min(CHILD_GAP[int(random() * len(CHILD_GAP))], age // remaining)
                age -= max(step, 1 if random() < 0.97 else 0)
    if menantu and oldest >= 0:
        first_child = people[_index_of_first_child(people)]
        age = max(18, first_child[2] + int(random() * 7) - 2)
        people.append(("menantu", not first_child[1], age, "kawin", home_prefix))
    if grandchildren:
        parent_age = oldest if married_child and oldest >= 0 else head_age - 22
        top = min(17, parent_age - 18)
        age = int(random() * (top + 1)) if top >= 0 else -1
        for _ in range(grandchildren):
            if age < 0:
                break
            people.append(("cucu", random() < 0.5, age, "belum_kawin", home_prefix))
            age -= 1 + int(random() * 3)
    return head_age, spouse, people


def _index_of_first_child(people: Sequence[Person]) -> int:
    return next(i for i, person in enumerate(people) if person[0] == "anak")
