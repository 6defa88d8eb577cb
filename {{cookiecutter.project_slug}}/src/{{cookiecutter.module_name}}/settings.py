"""Project settings chosen when the project was generated.

Edit them here; the package and its tools read them from this one place.
"""

PROJECT_SLUG = "{{ cookiecutter.project_slug }}"
PYTHON_VERSION = "{{ cookiecutter.python_version }}"
AZUREML_SDK = "{{ cookiecutter.azureml_sdk }}"
MODEL_NAME = "{{ cookiecutter.model_name }}"

# Azure Blob Storage that holds the training data.
STORAGE_ACCOUNT = "{{ cookiecutter.storage_account }}"
STORAGE_CONTAINER = "{{ cookiecutter.storage_container }}"
DATA_FILE = "{{ cookiecutter.data_file }}"
# Seconds after which DataIngestor gives up on a storage endpoint that it cannot
# connect to (a wrong account or endpoint, no network), that does not answer, or
# that keeps answering with a server error.
STORAGE_TIMEOUT = 20.0
# Seconds it waits before its one retry, give or take a third.
STORAGE_RETRY_BACKOFF = 3.0

# Azure ML workspace.
AZURE_SUBSCRIPTION_ID = "{{ cookiecutter.azure_subscription_id }}"
AZUREML_RESOURCE_GROUP = "{{ cookiecutter.azureml_resource_group }}"
AZUREML_WORKSPACE = "{{ cookiecutter.azureml_workspace }}"

# Your data. The model is trained on TRAINING_DATA and predicts TARGET_COLUMN
# from every other column. TRAINING_DATA is a local file (a path relative to
# the project folder, such as "data/churn.csv", or an absolute path) or a blob
# name in STORAGE_CONTAINER (such as DATA_FILE's value; "blob:<name>" forces a
# blob); formats: .csv, .csv.gz, .parquet, .json, .jsonl. TASK is
# "classification" or "regression". After changing them, run
#   python -m {{ cookiecutter.module_name }}.devtools.sample_payload --write
# to write the smoke test's payload (.azureml/test.json) from the new data.
{% set sample = "src/" ~ cookiecutter.module_name ~ "/sample_data/iris.csv" -%}
{% if (sample | length) + 18 <= 88 -%}
TRAINING_DATA = "{{ sample }}"
{% else -%}
TRAINING_DATA = (
    "{{ sample }}"
)
{% endif -%}
TARGET_COLUMN = "species"
TASK = "classification"
# Columns that are not features: identifiers (a ticket or customer id), keys,
# anything the model must not learn from. Kept out of the model; requests may
# still send them (they are ignored). Example: ["Ticket ID"].
ID_COLUMNS: list[str] = []
# Free-text columns (descriptions, comments): a bag of words (TF-IDF) each,
# instead of one category per distinct text. Example: ["Subject"].
TEXT_COLUMNS: list[str] = []
# Any other preparation of raw records (what settings cannot say) goes into
# data_preprocessing/preparation.py; it runs inside the saved model. Datetime
# columns become year, month, weekday and hour; booleans become 0/1.
# Classification: weigh each class by the inverse of its size, so that a rare
# class counts. "auto": when the smallest class has under a fifth of the
# largest one's rows; True or False: always or never.
BALANCE_CLASSES = "auto"

# Azure ML compute and deployment. Endpoint names: 3 to 32 letters, digits and
# hyphens, unique in the Azure region.
TRAINING_COMPUTE_NAME = "cpu-cluster"
AKS_COMPUTE_NAME = "aks-inference"
ENVIRONMENT_NAME = "{{ cookiecutter.project_slug }}-env"
QA_ENDPOINT_NAME = "{{ cookiecutter.__qa_endpoint }}"
PROD_ENDPOINT_NAME = "{{ cookiecutter.__prod_endpoint }}"

# --- Releases and the model quality gate -------------------------------------
# Share of Prod traffic (percent, 1-99; 0 = no canary) that a new deployment
# gets, and passes a smoke test with, before it takes all traffic (SDK v2).
CANARY_TRAFFIC_PERCENT = 10
# A new model is registered only when this metric from metrics.json is not worse
# than the registered version's by more than GATE_TOLERANCE (or when no version
# is registered yet). Classification: macro F1 by default (every class counts
# alike; accuracy flatters a model that ignores a rare class). Higher is better for accuracy, f1, precision, recall,
# roc_auc and r2; lower for rmse, mae and other *error/*loss metrics. The
# default follows TASK, so that switching TASK needs no other change.
GATE_METRIC = {"classification": "f1_macro", "regression": "rmse"}.get(TASK, "f1_macro")
GATE_TOLERANCE = 0.0
# The most rows score.py scores in one request; a bigger request gets a 413.
MAX_ROWS_PER_REQUEST = 100_000
{%- if cookiecutter.azureml_sdk == 'v2' %}
# --- Batch scoring (SDK v2) ---------------------------------------------------
# After Prod, the release creates or updates a batch endpoint whose deployment
# runs deployment/batch.py on TRAINING_COMPUTE_NAME: BATCH_INSTANCE_COUNT nodes
# (at most the cluster's maximum), BATCH_MINI_BATCH_SIZE files per run() call,
# each file read BATCH_CHUNK_ROWS rows at a time. The cluster scales to zero
# between jobs.
BATCH_ENDPOINT_NAME = "{{ cookiecutter.__batch_endpoint }}"
BATCH_INSTANCE_COUNT = 2
BATCH_MINI_BATCH_SIZE = 10
BATCH_CHUNK_ROWS = 50_000
{%- endif %}
# Azure ML environment of training jobs (.azureml/conda_training.yml: with
# MLflow); ENVIRONMENT_NAME serves the model, without it.
TRAINING_ENVIRONMENT_NAME = "{{ cookiecutter.project_slug }}-train-env"
{%- if cookiecutter.azureml_sdk == 'v2' %}

# --- The model monitor (SDK v2) ------------------------------------------------
# After Prod takes all traffic, the release creates or updates one Azure ML
# model monitor of the Prod deployment (deployment/monitor.py): data drift and
# prediction drift against the data the model was trained on, and data quality,
# on what Prod received (its data collector). It runs every MONITOR_INTERVAL
# MONITOR_FREQUENCY ("day", "week" or "month") at MONITOR_HOUR:00 UTC and
# e-mails MONITOR_ALERT_EMAILS when a threshold is crossed (empty: no e-mail;
# the results are in Azure ML studio, Monitoring, either way).
MONITOR_NAME = f"{PROD_ENDPOINT_NAME}-monitor"
MONITOR_FREQUENCY = "day"
MONITOR_INTERVAL = 1
MONITOR_HOUR = 3
MONITOR_ALERT_EMAILS: list[str] = []
# Drift: Jensen-Shannon distance (0 = same distribution, 1 = disjoint) of each
# numerical and categorical feature, and of the predictions.
MONITOR_DRIFT_THRESHOLD = 0.1
# Data quality: the share of missing values, and of values outside the
# training data's range (numbers) or categories, that raises an alert.
MONITOR_NULL_RATE_THRESHOLD = 0.05
MONITOR_OUT_OF_BOUNDS_THRESHOLD = 0.05
# The serverless Spark compute that runs each check (billed per run only).
MONITOR_INSTANCE_TYPE = "standard_e4s_v3"
MONITOR_SPARK_RUNTIME = "3.4"
{%- endif %}
