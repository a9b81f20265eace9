"""Campaign measurement: holdout groups, outcomes, uplift with intervals, planning, Hillstrom validation.

    from lookalike.database import open_database
    from lookalike.campaigns import create_campaign, import_outcomes, campaign_results
    from lookalike.campaigns import UpliftModel, campaign_training_data, uplift_plan

    engine = open_database()                                   # SQLite under ./.lookalike, or LOOKALIKE_DB_URL
    created = create_campaign(engine, "spring", audience, holdout_share=0.1)
    import_outcomes(engine, "spring", outcomes_df)             # one transaction: all rows or none
    results = campaign_results(engine, "spring")               # CampaignResults; .to_dict(), .verdict
    data = campaign_training_data(engine, ["spring"], customers)   # uplift: who will the next campaign change?
    model = UpliftModel().fit(data.customers, data.treatment, data.outcome("conversions"), outcomes=data.outcomes)
    uplift_plan(model, customers)                              # incremental conversions/revenue by audience size
"""

from lookalike.campaigns.holdout import assign_arms, balance_table, hash_buckets, new_salt, sample_ratio_check
from lookalike.campaigns.plan import Plan, minimum_detectable_effect, sample_size, uplift_plan
from lookalike.campaigns.report import (CampaignResults, Comparison, campaign_results, compare_results,
                                        results_from_frame, stored_results)
from lookalike.campaigns.stats import Uplift, bootstrap_diff_ci, mean_uplift, proportion_uplift
from lookalike.campaigns.store import (Campaign, CampaignError, CreatedCampaign, OutcomeFileError, OutcomeImport,
                                       OutcomeProblem, add_cost,
                                       assignments_frame, campaign_frame, control_ids, create_campaign,
                                       delete_campaign, get_campaign, import_outcomes, list_campaigns, read_outcomes)
from lookalike.campaigns.uplift import (UpliftBootstrap, bootstrap_uplift_metrics, qini_coefficient, qini_curve,
                                        uplift_at_shares, uplift_by_bin, uplift_metrics)
from lookalike.campaigns.uplift_models import TrainingData, UpliftModel, campaign_training_data

__all__ = [
    "assign_arms", "balance_table", "hash_buckets", "new_salt", "sample_ratio_check",
    "Plan", "minimum_detectable_effect", "sample_size", "uplift_plan",
    "CampaignResults", "Comparison", "campaign_results", "compare_results", "results_from_frame", "stored_results",
    "Uplift", "bootstrap_diff_ci", "mean_uplift", "proportion_uplift",
    "Campaign", "CampaignError", "CreatedCampaign", "OutcomeFileError", "OutcomeImport", "OutcomeProblem", "add_cost", "assignments_frame",
    "campaign_frame", "control_ids", "create_campaign", "delete_campaign", "get_campaign", "import_outcomes",
    "list_campaigns", "read_outcomes",
    "qini_coefficient", "qini_curve", "uplift_by_bin", "UpliftBootstrap", "bootstrap_uplift_metrics",
    "uplift_at_shares", "uplift_metrics", "TrainingData", "UpliftModel", "campaign_training_data",
]
