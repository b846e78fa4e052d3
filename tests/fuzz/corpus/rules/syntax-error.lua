rule "x" { title = "t", 
  run = function( end }
