-- Busted output handler: gtest-style lines while running, then a closing line
-- "N passed, M failed[, K skipped]" that CI reads. Errors count as failures.
return function(options)
  local busted = require 'busted'
  local gtest = require 'busted.outputHandlers.gtest'(options)
  local handler = gtest
  busted.subscribe({ 'suite', 'end' }, function()
    local failed = handler.failuresCount + handler.errorsCount
    local line = string.format("%d passed, %d failed", handler.successesCount, failed)
    if handler.pendingsCount > 0 then
      line = line .. string.format(", %d skipped", handler.pendingsCount)
    end
    io.write("\n", line, "\n")
    io.flush()
    return nil, true
  end, { priority = 100 })
  return handler
end
