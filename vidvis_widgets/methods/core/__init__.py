"""What every method shares: the batched optimization loop (:mod:`.loop`), objectives as small composable
values (:mod:`.objectives`) over the regularizers (:mod:`.regularizers`), a model's input streams in the
optimizer's units (:mod:`.streams`), and several checkpoints stacked into one model (:mod:`.stacked`)."""
