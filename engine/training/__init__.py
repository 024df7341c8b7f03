"""Learning the filters: initialisation from threshold crossings, the trainer, the filter update,
EM for lambda, amplitude floors and the removal of shifted copies."""
