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
# Seconds after which DataIngestor gives up on a storage endpoint it cannot
# connect to (a wrong account or endpoint, no network).
STORAGE_CONNECT_TIMEOUT = 15.0

# Azure ML workspace.
AZURE_SUBSCRIPTION_ID = "{{ cookiecutter.azure_subscription_id }}"
AZUREML_RESOURCE_GROUP = "{{ cookiecutter.azureml_resource_group }}"
AZUREML_WORKSPACE = "{{ cookiecutter.azureml_workspace }}"

# The model: trained on DATA_FILE, predicting TARGET_COLUMN from the other columns.
TARGET_COLUMN = "species"

# Azure ML compute and deployment. Endpoint names: 3 to 32 letters, digits and
# hyphens, unique in the Azure region.
TRAINING_COMPUTE_NAME = "cpu-cluster"
AKS_COMPUTE_NAME = "aks-inference"
ENVIRONMENT_NAME = "{{ cookiecutter.project_slug }}-env"
QA_ENDPOINT_NAME = "{{ cookiecutter.project_slug[:27].rstrip('-') }}-qa"
PROD_ENDPOINT_NAME = "{{ cookiecutter.project_slug[:27].rstrip('-') }}-prod"
