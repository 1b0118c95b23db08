"""A picture of an appraisal: flows by year with the cumulative position, and the NPV
distribution when a risk analysis was run. Written as PNG (matplotlib, no display)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no screen needed

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from alianza.appraisal.evaluate import ProjectAppraisal  # noqa: E402


def appraisal_chart(appraisal: ProjectAppraisal, path: str | Path) -> Path:
    """Write the chart of a project's appraisal to `path` (PNG) and return the path."""
    path = Path(path)
    panels = 2 if appraisal.risk is not None else 1
    figure, axes = plt.subplots(1, panels, figsize=(7 * panels, 4.5), squeeze=False)
    currency = appraisal.plan.currency
    flows, applicant = appraisal.flows, appraisal.applicant_flows
    t = np.arange(len(flows))
    left = axes[0, 0]
    left.bar(t - 0.2, flows, width=0.4, label="total flow", color="#4C72B0")
    left.bar(t + 0.2, applicant, width=0.4, label="applicant flow (after grants)", color="#55A868")
    left.plot(t, np.cumsum(flows), color="#C44E52", marker="o", label="cumulative total")
    left.axhline(0, color="black", linewidth=0.8)
    left.set_xlabel("t (year; the year-1 investment at t = 0)")
    left.set_ylabel(currency)
    irr = appraisal.irr.value
    left.set_title(
        f"{appraisal.plan.name}\nNPV {appraisal.npv:,.0f} {currency} at {appraisal.discount_rate:.1%}"
        + (f", IRR {irr:.1%}" if irr is not None else f", IRR {appraisal.irr.status}"),
        fontsize=10,
    )
    left.legend(fontsize=8)
    left.grid(axis="y", alpha=0.3)
    if appraisal.risk is not None:
        risk = appraisal.risk
        right = axes[0, 1]
        negative = risk.npv < 0
        bins = np.histogram_bin_edges(risk.npv, bins=40)
        if bins[0] < 0 < bins[-1]:  # a bin edge at 0, so no bar holds both colours
            bins = np.sort(np.append(bins[np.abs(bins) > 1e-9 * np.ptp(bins)], 0.0))
        right.hist(risk.npv[~negative], bins=bins, color="#4C72B0", label="NPV ≥ 0")
        right.hist(risk.npv[negative], bins=bins, color="#C44E52", label="NPV < 0")
        right.axvline(0, color="black", linewidth=0.8)
        right.set_xlabel(f"NPV ({currency})")
        right.set_ylabel("draws")
        right.set_title(
            f"Risk: P(NPV < 0) = {risk.probability_negative_npv:.1%}\n"
            f"{risk.options.draws:,} draws, price sd {risk.options.price_sd:.0%}, "
            f"yield sd {risk.options.yield_sd:.0%}",
            fontsize=10,
        )
        right.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
