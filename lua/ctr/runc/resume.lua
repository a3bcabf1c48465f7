--- luac-runc resume ID: thaw a paused container (see ctr.runc.pause).
return function(ctx, args) return require("ctr.runc.pause").set(ctx, args, false) end
