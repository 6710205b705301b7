"""``keraslite.callbacks``: the hooks of fit/evaluate/predict (Keras' names and behaviour)."""
from .backup_and_restore import BackupAndRestore
from .base import Callback, CallbackList, History
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .lambda_callback import LambdaCallback
from .learning_rate import LearningRateScheduler, ReduceLROnPlateau
from .model_checkpoint import ModelCheckpoint
from .progbar import Progbar, ProgbarLogger
from .tensorboard import TensorBoard
from .terminate_on_nan import NaNLossError, TerminateOnNaN

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "Progbar", "EarlyStopping",
           "ModelCheckpoint", "CSVLogger", "ReduceLROnPlateau", "LearningRateScheduler", "TerminateOnNaN",
           "NaNLossError", "LambdaCallback", "BackupAndRestore", "TensorBoard"]
