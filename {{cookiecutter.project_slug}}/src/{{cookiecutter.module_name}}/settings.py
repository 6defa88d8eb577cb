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

# Azure ML compute and deployment. Endpoint names: 3 to 32 letters, digits and
# hyphens, unique in the Azure region.
TRAINING_COMPUTE_NAME = "cpu-cluster"
AKS_COMPUTE_NAME = "aks-inference"
ENVIRONMENT_NAME = "{{ cookiecutter.project_slug }}-env"
QA_ENDPOINT_NAME = "{{ cookiecutter.project_slug[:27].rstrip('-') }}-qa"
PROD_ENDPOINT_NAME = "{{ cookiecutter.project_slug[:27].rstrip('-') }}-prod"
